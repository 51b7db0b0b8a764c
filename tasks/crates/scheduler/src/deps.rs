//! Dependency queries over the task table.

use crate::task::{Task, TaskId, TaskState};

/// Dependencies of `id` that are not done yet, in declaration order.
pub fn unmet(tasks: &[Task], id: TaskId) -> Vec<TaskId> {
    tasks[id]
        .spec
        .deps
        .iter()
        .copied()
        .filter(|&dep| tasks[dep].state != TaskState::Done)
        .collect()
}

/// Tasks that list `id` as a direct dependency, ascending.
pub fn dependents(tasks: &[Task], id: TaskId) -> Vec<TaskId> {
    tasks
        .iter()
        .filter(|t| t.spec.deps.contains(&id))
        .map(|t| t.id)
        .collect()
}

/// Every task that depends on `id` directly or transitively, ascending, `id` excluded.
pub fn dependents_closure(tasks: &[Task], id: TaskId) -> Vec<TaskId> {
    let mut seen = vec![false; tasks.len()];
    let mut stack = vec![id];
    while let Some(current) = stack.pop() {
        for next in dependents(tasks, current) {
            if !seen[next] {
                seen[next] = true;
                stack.push(next);
            }
        }
    }
    seen[id] = false;
    (0..tasks.len()).filter(|&t| seen[t]).collect()
}

/// Whether `from` depends on `target` directly or transitively.
pub fn depends_on(tasks: &[Task], from: TaskId, target: TaskId) -> bool {
    let mut seen = vec![false; tasks.len()];
    let mut stack = vec![from];
    while let Some(current) = stack.pop() {
        for &dep in &tasks[current].spec.deps {
            if dep == target {
                return true;
            }
            if !seen[dep] {
                seen[dep] = true;
                stack.push(dep);
            }
        }
    }
    false
}

/// Remaining work on the heaviest chain of unfinished dependencies ending at `id`,
/// `id`'s own remaining work included. A lower bound on the ticks until `id` can finish.
pub fn critical_path(tasks: &[Task], id: TaskId) -> u64 {
    let mut memo: Vec<Option<u64>> = vec![None; tasks.len()];
    chain(tasks, id, &mut memo)
}

fn chain(tasks: &[Task], id: TaskId, memo: &mut [Option<u64>]) -> u64 {
    if let Some(known) = memo[id] {
        return known;
    }
    let task = &tasks[id];
    let own = if task.is_finished() {
        0
    } else {
        task.remaining
    };
    let mut longest = 0;
    for &dep in &task.spec.deps {
        let length = chain(tasks, dep, memo);
        if length > longest {
            longest = length;
        }
    }
    let total = own + longest;
    memo[id] = Some(total);
    total
}

/// All unfinished tasks in an order that respects dependencies (Kahn's algorithm,
/// smallest id first among the available ones).
pub fn execution_order(tasks: &[Task]) -> Vec<TaskId> {
    let pending: Vec<bool> = tasks.iter().map(|t| !t.is_finished()).collect();
    let mut emitted = vec![false; tasks.len()];
    let mut order = Vec::new();
    for _ in 0..tasks.len() {
        let next = (0..tasks.len()).find(|&id| {
            pending[id]
                && !emitted[id]
                && tasks[id]
                    .spec
                    .deps
                    .iter()
                    .all(|&d| emitted[d] || !pending[d])
        });
        match next {
            Some(id) => {
                emitted[id] = true;
                order.push(id);
            }
            None => break,
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskSpec;

    // 0 <- 1 <- 3, 0 <- 2 <- 3, 4 independent
    fn table() -> Vec<Task> {
        let specs = vec![
            TaskSpec::new("fetch", 1, 2),
            TaskSpec::new("compile", 1, 5).after(0),
            TaskSpec::new("lint", 1, 1).after(0),
            TaskSpec::new("package", 1, 3).after(1).after(2),
            TaskSpec::new("docs", 1, 4),
        ];
        specs
            .into_iter()
            .enumerate()
            .map(|(id, spec)| Task::new(id, spec, 0))
            .collect()
    }

    #[test]
    fn unmet_lists_pending_dependencies() {
        let mut tasks = table();
        assert_eq!(unmet(&tasks, 3), vec![1, 2]);
        tasks[1].state = TaskState::Done;
        assert_eq!(unmet(&tasks, 3), vec![2]);
        tasks[2].state = TaskState::Cancelled;
        assert_eq!(unmet(&tasks, 3), vec![2]);
        assert_eq!(unmet(&tasks, 4), Vec::<TaskId>::new());
    }

    #[test]
    fn dependents_direct_and_transitive() {
        let tasks = table();
        assert_eq!(dependents(&tasks, 0), vec![1, 2]);
        assert_eq!(dependents_closure(&tasks, 0), vec![1, 2, 3]);
        assert_eq!(dependents_closure(&tasks, 2), vec![3]);
        assert_eq!(dependents_closure(&tasks, 3), Vec::<TaskId>::new());
    }

    #[test]
    fn dependents_closure_excludes_start_even_on_cycles() {
        let mut tasks = table();
        tasks[0].spec.deps.push(3);
        assert_eq!(dependents_closure(&tasks, 0), vec![1, 2, 3]);
        assert_eq!(dependents_closure(&tasks, 3), vec![0, 1, 2]);
    }

    #[test]
    fn depends_on_is_transitive_and_directed() {
        let tasks = table();
        assert!(depends_on(&tasks, 3, 0));
        assert!(depends_on(&tasks, 1, 0));
        assert!(!depends_on(&tasks, 0, 3));
        assert!(!depends_on(&tasks, 4, 0));
        assert!(!depends_on(&tasks, 3, 4));
    }

    #[test]
    fn critical_path_follows_heaviest_chain() {
        let mut tasks = table();
        assert_eq!(critical_path(&tasks, 3), 2 + 5 + 3);
        assert_eq!(critical_path(&tasks, 2), 3);
        tasks[0].state = TaskState::Done;
        tasks[1].remaining = 1;
        assert_eq!(critical_path(&tasks, 3), 3 + 1);
    }

    #[test]
    fn execution_order_respects_dependencies() {
        let mut tasks = table();
        tasks.push(Task::new(5, TaskSpec::new("early", 1, 1), 0));
        tasks[0].spec.deps.push(5);
        assert_eq!(execution_order(&tasks), vec![4, 5, 0, 1, 2, 3]);
        tasks[5].state = TaskState::Done;
        tasks[4].state = TaskState::Cancelled;
        assert_eq!(execution_order(&tasks), vec![0, 1, 2, 3]);
    }
}
