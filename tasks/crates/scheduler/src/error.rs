//! Scheduler errors.

use std::fmt;

use crate::task::TaskId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedError {
    InvalidQuantum,
    InvalidPriority(u8),
    ZeroWork,
    DeadlineInPast { deadline: u64, now: u64 },
    UnknownTask(TaskId),
    UnknownDependency { dep: TaskId },
    DependencyCancelled(TaskId),
    WouldCycle { task: TaskId, dep: TaskId },
    AlreadyFinished(TaskId),
    TaskRunning(TaskId),
}

impl fmt::Display for SchedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedError::InvalidQuantum => write!(f, "quantum must be at least 1 tick"),
            SchedError::InvalidPriority(p) => write!(f, "priority {p} is out of range"),
            SchedError::ZeroWork => write!(f, "a task needs at least 1 tick of work"),
            SchedError::DeadlineInPast { deadline, now } => {
                write!(f, "deadline {deadline} is not after the current tick {now}")
            }
            SchedError::UnknownTask(id) => write!(f, "unknown task {id}"),
            SchedError::UnknownDependency { dep } => write!(f, "unknown dependency {dep}"),
            SchedError::DependencyCancelled(id) => write!(f, "dependency {id} was cancelled"),
            SchedError::WouldCycle { task, dep } => {
                write!(f, "making {task} depend on {dep} would create a cycle")
            }
            SchedError::AlreadyFinished(id) => write!(f, "task {id} already finished"),
            SchedError::TaskRunning(id) => write!(f, "task {id} is running"),
        }
    }
}

impl std::error::Error for SchedError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_values() {
        assert_eq!(
            SchedError::DeadlineInPast {
                deadline: 3,
                now: 5
            }
            .to_string(),
            "deadline 3 is not after the current tick 5"
        );
        assert_eq!(
            SchedError::WouldCycle { task: 1, dep: 2 }.to_string(),
            "making 1 depend on 2 would create a cycle"
        );
        assert_eq!(
            SchedError::InvalidPriority(12).to_string(),
            "priority 12 is out of range"
        );
    }
}
