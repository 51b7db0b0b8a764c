//! Schedule statistics and a compact text rendering.

use crate::task::{Task, TaskId, TaskState};

/// Summary of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub completed: usize,
    pub cancelled: usize,
    /// Tasks neither done nor cancelled.
    pub pending: usize,
    /// Finished tasks that finished after their deadline, ascending.
    pub missed_deadlines: Vec<TaskId>,
    /// Largest lateness among finished tasks (0 when none was late).
    pub max_lateness: u64,
    /// Mean turnaround of finished tasks, rounded down; `None` when none finished.
    pub mean_turnaround: Option<u64>,
    pub busy_ticks: u64,
    pub idle_ticks: u64,
    pub context_switches: usize,
}

impl Report {
    /// Busy share of all ticks in whole percent (rounded down; 0 for no ticks).
    pub fn utilization_percent(&self) -> u64 {
        let total = self.busy_ticks + self.idle_ticks;
        if total == 0 {
            return 0;
        }
        self.busy_ticks * 100 / total
    }
}

/// Builds the report from the task table and the per-tick history.
pub fn report(tasks: &[Task], history: &[Option<TaskId>]) -> Report {
    let mut completed = 0;
    let mut cancelled = 0;
    let mut missed_deadlines = Vec::new();
    let mut max_lateness = 0;
    let mut turnaround_sum = 0;
    for task in tasks {
        match task.state {
            TaskState::Done => {
                completed += 1;
                turnaround_sum += task.turnaround().unwrap_or(0);
                if let Some(late) = task.lateness() {
                    missed_deadlines.push(task.id);
                    max_lateness = max_lateness.max(late);
                }
            }
            TaskState::Cancelled => cancelled += 1,
            _ => {}
        }
    }
    let mean_turnaround = if completed > 0 {
        Some(turnaround_sum / completed as u64)
    } else {
        None
    };
    let busy_ticks = history.iter().filter(|slot| slot.is_some()).count() as u64;
    Report {
        completed,
        cancelled,
        pending: tasks.len() - completed - cancelled,
        missed_deadlines,
        max_lateness,
        mean_turnaround,
        busy_ticks,
        idle_ticks: history.len() as u64 - busy_ticks,
        context_switches: context_switches(history),
    }
}

/// Times the processor moved from one task to a different one; idle gaps between two
/// slices of the same task do not count.
pub fn context_switches(history: &[Option<TaskId>]) -> usize {
    let mut last: Option<TaskId> = None;
    let mut switches = 0;
    for &slot in history {
        let Some(id) = slot else {
            continue;
        };
        if let Some(previous) = last {
            if previous != id {
                switches += 1;
            }
        }
        last = Some(id);
    }
    switches
}

/// One character per tick: `A`..`Z` for tasks 0..25, `#` for later ids, `.` when idle.
pub fn gantt(history: &[Option<TaskId>]) -> String {
    history
        .iter()
        .map(|slot| match slot {
            Some(id) if *id < 26 => char::from(b'A' + *id as u8),
            Some(_) => '#',
            None => '.',
        })
        .collect()
}

/// Ticks each task spent on the processor, indexed by task id (`count` entries).
pub fn ticks_per_task(history: &[Option<TaskId>], count: usize) -> Vec<u64> {
    let mut ticks = vec![0; count];
    for id in history.iter().flatten() {
        if *id < count {
            ticks[*id] += 1;
        }
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskSpec;

    fn finished(id: TaskId, submitted: u64, finished: u64, deadline: Option<u64>) -> Task {
        let mut spec = TaskSpec::new("t", 1, 1);
        spec.deadline = deadline;
        let mut task = Task::new(id, spec, submitted);
        task.state = TaskState::Done;
        task.remaining = 0;
        task.finished_at = Some(finished);
        task
    }

    #[test]
    fn gantt_letters_and_idle() {
        assert_eq!(
            gantt(&[Some(0), None, Some(2), Some(25), Some(26)]),
            "A.CZ#"
        );
        assert_eq!(gantt(&[]), "");
    }

    #[test]
    fn context_switches_ignore_idle_gaps() {
        assert_eq!(context_switches(&[Some(0), Some(0), Some(1), Some(0)]), 2);
        assert_eq!(context_switches(&[Some(0), None, Some(0), None]), 0);
        assert_eq!(context_switches(&[None, Some(3), None, Some(4)]), 1);
        assert_eq!(context_switches(&[]), 0);
    }

    #[test]
    fn report_counts_and_lateness() {
        let mut cancelled = Task::new(3, TaskSpec::new("c", 1, 1), 0);
        cancelled.state = TaskState::Cancelled;
        let pending = Task::new(4, TaskSpec::new("p", 1, 1), 0);
        let tasks = vec![
            finished(0, 0, 4, Some(4)),
            finished(1, 1, 9, Some(6)),
            finished(2, 2, 8, Some(7)),
            cancelled,
            pending,
        ];
        let history = [Some(0), Some(0), None, Some(1), Some(2)];
        let r = report(&tasks, &history);
        assert_eq!(r.completed, 3);
        assert_eq!(r.cancelled, 1);
        assert_eq!(r.pending, 1);
        assert_eq!(r.missed_deadlines, vec![1, 2]);
        assert_eq!(r.max_lateness, 3);
        assert_eq!(r.mean_turnaround, Some((4 + 8 + 6) / 3));
        assert_eq!(r.busy_ticks, 4);
        assert_eq!(r.idle_ticks, 1);
        assert_eq!(r.context_switches, 2);
        assert_eq!(r.utilization_percent(), 80);
    }

    #[test]
    fn mean_turnaround_rounds_down_and_handles_empty() {
        let tasks = vec![finished(0, 0, 3, None), finished(1, 0, 4, None)];
        assert_eq!(report(&tasks, &[]).mean_turnaround, Some(3));
        assert_eq!(report(&tasks, &[]).max_lateness, 0);
        assert!(report(&tasks, &[]).missed_deadlines.is_empty());
        assert_eq!(report(&[], &[]).mean_turnaround, None);
        assert_eq!(report(&[], &[]).utilization_percent(), 0);
    }

    #[test]
    fn utilization_rounds_down() {
        let r = report(&[], &[Some(0), Some(0), None]);
        assert_eq!(r.utilization_percent(), 66);
    }

    #[test]
    fn ticks_per_task_counts_slots() {
        let history = [Some(1), Some(0), Some(1), None, Some(5)];
        assert_eq!(ticks_per_task(&history, 3), vec![1, 2, 0]);
    }
}
