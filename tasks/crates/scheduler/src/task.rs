//! Task specifications and per-task runtime state.

use crate::aging::MAX_PRIORITY;
use crate::error::SchedError;

/// Index of a task in its scheduler (assigned in submission order).
pub type TaskId = usize;

/// What the caller asks to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    pub name: String,
    /// `0..=MAX_PRIORITY`; higher runs first.
    pub priority: u8,
    /// Ticks of processor time needed.
    pub work: u64,
    /// Tick by which the task should have finished.
    pub deadline: Option<u64>,
    /// Tasks that must be done before this one may run.
    pub deps: Vec<TaskId>,
}

impl TaskSpec {
    pub fn new(name: &str, priority: u8, work: u64) -> Self {
        TaskSpec {
            name: name.to_string(),
            priority,
            work,
            deadline: None,
            deps: Vec::new(),
        }
    }

    /// Builder: sets the deadline.
    pub fn with_deadline(mut self, deadline: u64) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Builder: adds a dependency (duplicates are ignored).
    pub fn after(mut self, dep: TaskId) -> Self {
        if !self.deps.contains(&dep) {
            self.deps.push(dep);
        }
        self
    }

    /// Checks the spec against the scheduler's current tick and task count.
    pub fn validate(&self, now: u64, known_tasks: usize) -> Result<(), SchedError> {
        if self.priority > MAX_PRIORITY {
            return Err(SchedError::InvalidPriority(self.priority));
        }
        if self.work == 0 {
            return Err(SchedError::ZeroWork);
        }
        if let Some(deadline) = self.deadline {
            if deadline <= now {
                return Err(SchedError::DeadlineInPast { deadline, now });
            }
        }
        for &dep in &self.deps {
            if dep >= known_tasks {
                return Err(SchedError::UnknownDependency { dep });
            }
        }
        Ok(())
    }
}

/// Lifecycle of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for dependencies.
    Blocked,
    /// In the ready queue.
    Ready,
    /// Currently holding the processor.
    Running,
    Done,
    Cancelled,
}

/// A submitted task and its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub spec: TaskSpec,
    pub state: TaskState,
    /// Ticks of work still to do.
    pub remaining: u64,
    /// Ticks spent ready but not running since it last ran (drives aging).
    pub waited: u64,
    pub submitted_at: u64,
    pub first_run: Option<u64>,
    pub finished_at: Option<u64>,
}

impl Task {
    pub fn new(id: TaskId, spec: TaskSpec, now: u64) -> Self {
        Task {
            id,
            remaining: spec.work,
            spec,
            state: TaskState::Blocked,
            waited: 0,
            submitted_at: now,
            first_run: None,
            finished_at: None,
        }
    }

    /// Done or cancelled.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, TaskState::Done | TaskState::Cancelled)
    }

    /// Completed share of the work, in whole percent (rounded down).
    pub fn progress_percent(&self) -> u64 {
        let done = self.spec.work - self.remaining;
        done * 100 / self.spec.work
    }

    /// Ticks from submission to completion.
    pub fn turnaround(&self) -> Option<u64> {
        self.finished_at.map(|f| f - self.submitted_at)
    }

    /// Ticks from submission to the first tick it ran.
    pub fn response_time(&self) -> Option<u64> {
        self.first_run.map(|r| r - self.submitted_at)
    }

    /// How many ticks after its deadline the task finished, if it finished late.
    pub fn lateness(&self) -> Option<u64> {
        match (self.finished_at, self.spec.deadline) {
            (Some(finished), Some(deadline)) if finished > deadline => Some(finished - deadline),
            _ => None,
        }
    }

    /// Whether the task can no longer meet its deadline at tick `now`, even if it ran
    /// without interruption from now on.
    pub fn is_doomed(&self, now: u64) -> bool {
        if self.is_finished() {
            return self.lateness().is_some();
        }
        match self.spec.deadline {
            Some(deadline) => now + self.remaining > deadline,
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_fields_and_dedups_deps() {
        let spec = TaskSpec::new("build", 4, 3)
            .with_deadline(10)
            .after(1)
            .after(0)
            .after(1);
        assert_eq!(spec.priority, 4);
        assert_eq!(spec.deadline, Some(10));
        assert_eq!(spec.deps, vec![1, 0]);
    }

    #[test]
    fn validate_checks_bounds() {
        assert_eq!(TaskSpec::new("a", 9, 1).validate(0, 0), Ok(()));
        assert_eq!(
            TaskSpec::new("a", 10, 1).validate(0, 0),
            Err(SchedError::InvalidPriority(10))
        );
        assert_eq!(
            TaskSpec::new("a", 1, 0).validate(0, 0),
            Err(SchedError::ZeroWork)
        );
        assert_eq!(
            TaskSpec::new("a", 1, 1).after(2).validate(0, 2),
            Err(SchedError::UnknownDependency { dep: 2 })
        );
        assert_eq!(TaskSpec::new("a", 1, 1).after(1).validate(0, 2), Ok(()));
    }

    #[test]
    fn deadline_must_be_in_the_future() {
        let spec = TaskSpec::new("a", 1, 1).with_deadline(5);
        assert_eq!(spec.validate(4, 0), Ok(()));
        assert_eq!(
            spec.validate(5, 0),
            Err(SchedError::DeadlineInPast {
                deadline: 5,
                now: 5
            })
        );
    }

    #[test]
    fn timing_metrics() {
        let mut task = Task::new(0, TaskSpec::new("a", 1, 4).with_deadline(8), 2);
        assert_eq!(task.turnaround(), None);
        task.first_run = Some(5);
        task.finished_at = Some(11);
        task.state = TaskState::Done;
        assert_eq!(task.response_time(), Some(3));
        assert_eq!(task.turnaround(), Some(9));
        assert_eq!(task.lateness(), Some(3));
        task.finished_at = Some(8);
        assert_eq!(task.lateness(), None);
    }

    #[test]
    fn progress_rounds_down() {
        let mut task = Task::new(0, TaskSpec::new("a", 1, 3), 0);
        assert_eq!(task.progress_percent(), 0);
        task.remaining = 2;
        assert_eq!(task.progress_percent(), 33);
        task.remaining = 1;
        assert_eq!(task.progress_percent(), 66);
        task.remaining = 0;
        assert_eq!(task.progress_percent(), 100);
    }

    #[test]
    fn doomed_when_remaining_work_overruns_deadline() {
        let mut task = Task::new(0, TaskSpec::new("a", 1, 3).with_deadline(10), 0);
        assert!(!task.is_doomed(7));
        assert!(task.is_doomed(8));
        task.state = TaskState::Done;
        task.finished_at = Some(10);
        assert!(!task.is_doomed(20));
        let free = Task::new(1, TaskSpec::new("b", 1, 3), 0);
        assert!(!free.is_doomed(1_000));
    }
}
