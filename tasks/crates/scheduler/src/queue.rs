//! The ready queue and the ranking rule used to pick the next task.

use crate::task::TaskId;

/// What decides which ready task runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    /// Effective (aged) priority; higher wins.
    pub priority: u8,
    /// Earlier deadlines win among equal priorities; no deadline loses to any deadline.
    pub deadline: Option<u64>,
    /// Queue arrival order; earlier wins among otherwise equal tasks (round-robin).
    pub seq: u64,
}

/// Whether `a` should run before `b`.
pub fn outranks(a: &Rank, b: &Rank) -> bool {
    if a.priority != b.priority {
        return a.priority > b.priority;
    }
    match (a.deadline, b.deadline) {
        (Some(x), Some(y)) if x != y => return x < y,
        (Some(_), None) => return true,
        (None, Some(_)) => return false,
        _ => {}
    }
    a.seq < b.seq
}

/// Ready tasks in arrival order. Re-queued tasks go to the back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadyQueue {
    entries: Vec<(TaskId, u64)>,
    next_seq: u64,
}

impl ReadyQueue {
    pub fn new() -> Self {
        ReadyQueue::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, id: TaskId) -> bool {
        self.entries.iter().any(|&(t, _)| t == id)
    }

    /// Appends `id` at the back; a task already queued keeps its place.
    pub fn push(&mut self, id: TaskId) {
        if self.contains(id) {
            return;
        }
        self.entries.push((id, self.next_seq));
        self.next_seq += 1;
    }

    /// Removes `id`; returns whether it was queued.
    pub fn remove(&mut self, id: TaskId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|&(t, _)| t != id);
        self.entries.len() < before
    }

    /// Queued ids, front first.
    pub fn ids(&self) -> Vec<TaskId> {
        self.entries.iter().map(|&(t, _)| t).collect()
    }

    /// Arrival sequence number of a queued task.
    pub fn seq_of(&self, id: TaskId) -> Option<u64> {
        self.entries
            .iter()
            .find(|&&(t, _)| t == id)
            .map(|&(_, s)| s)
    }

    /// The queued task with the best rank, given its priority and deadline.
    pub fn best<F>(&self, mut key: F) -> Option<TaskId>
    where
        F: FnMut(TaskId) -> (u8, Option<u64>),
    {
        let mut best: Option<(TaskId, Rank)> = None;
        for &(id, seq) in &self.entries {
            let (priority, deadline) = key(id);
            let rank = Rank {
                priority,
                deadline,
                seq,
            };
            match best {
                Some((_, current)) if !outranks(&rank, &current) => {}
                _ => best = Some((id, rank)),
            }
        }
        best.map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(priority: u8, deadline: Option<u64>, seq: u64) -> Rank {
        Rank {
            priority,
            deadline,
            seq,
        }
    }

    #[test]
    fn higher_priority_outranks() {
        assert!(outranks(&rank(5, None, 9), &rank(4, Some(1), 0)));
        assert!(!outranks(&rank(4, Some(1), 0), &rank(5, None, 9)));
    }

    #[test]
    fn earlier_deadline_breaks_priority_ties() {
        assert!(outranks(&rank(3, Some(4), 9), &rank(3, Some(5), 0)));
        assert!(!outranks(&rank(3, Some(5), 0), &rank(3, Some(4), 9)));
        assert!(outranks(&rank(3, Some(50), 9), &rank(3, None, 0)));
        assert!(!outranks(&rank(3, None, 0), &rank(3, Some(50), 9)));
    }

    #[test]
    fn arrival_order_breaks_remaining_ties() {
        assert!(outranks(&rank(3, Some(4), 1), &rank(3, Some(4), 2)));
        assert!(outranks(&rank(3, None, 1), &rank(3, None, 2)));
        assert!(!outranks(&rank(3, None, 2), &rank(3, None, 2)));
    }

    #[test]
    fn push_keeps_place_of_queued_task() {
        let mut q = ReadyQueue::new();
        q.push(4);
        q.push(2);
        q.push(4);
        assert_eq!(q.ids(), vec![4, 2]);
        assert_eq!(q.seq_of(2), Some(1));
        assert!(q.remove(4));
        assert!(!q.remove(4));
        q.push(4);
        assert_eq!(q.ids(), vec![2, 4]);
        assert_eq!(q.seq_of(4), Some(2));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn best_uses_rank() {
        let mut q = ReadyQueue::new();
        for id in [0, 1, 2, 3] {
            q.push(id);
        }
        let prio = [1u8, 3, 3, 2];
        assert_eq!(q.best(|id| (prio[id], None)), Some(1));
        let deadlines = [None, Some(9), Some(7), None];
        assert_eq!(q.best(|id| (prio[id], deadlines[id])), Some(2));
        assert_eq!(ReadyQueue::new().best(|_| (0, None)), None);
        assert!(ReadyQueue::new().is_empty());
    }
}
