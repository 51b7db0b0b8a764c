//! A deterministic priority task scheduler driven by logical ticks.
//!
//! Tasks have a priority (`0..=MAX_PRIORITY`, higher runs first), an amount of work in
//! ticks, an optional deadline and dependencies on other tasks. One task runs per tick.
//! Equal priorities share the processor round-robin with a fixed quantum, earlier
//! deadlines break ties, waiting tasks age to higher effective priorities, and
//! cancelling a task cancels everything that depends on it. There are no threads and
//! no wall-clock time: the same calls always produce the same schedule.

pub mod aging;
pub mod deps;
pub mod error;
pub mod queue;
pub mod scheduler;
pub mod stats;
pub mod task;

pub use aging::{AgingPolicy, MAX_PRIORITY};
pub use error::SchedError;
pub use queue::{outranks, Rank, ReadyQueue};
pub use scheduler::Scheduler;
pub use stats::{gantt, Report};
pub use task::{Task, TaskId, TaskSpec, TaskState};
