//! The scheduler state machine.

use crate::aging::AgingPolicy;
use crate::deps;
use crate::error::SchedError;
use crate::queue::ReadyQueue;
use crate::stats::{self, Report};
use crate::task::{Task, TaskId, TaskSpec, TaskState};

/// A single-processor scheduler advanced one logical tick at a time.
///
/// Each tick the running task keeps the processor until it finishes, uses up its
/// quantum, or a ready task with a strictly higher effective priority appears; a task
/// that loses the processor goes to the back of the ready queue.
#[derive(Debug, Clone)]
pub struct Scheduler {
    tasks: Vec<Task>,
    queue: ReadyQueue,
    running: Option<TaskId>,
    slice_used: u64,
    quantum: u64,
    aging: AgingPolicy,
    now: u64,
    history: Vec<Option<TaskId>>,
}

impl Scheduler {
    pub fn new(quantum: u64, aging: AgingPolicy) -> Result<Self, SchedError> {
        if quantum == 0 {
            return Err(SchedError::InvalidQuantum);
        }
        Ok(Scheduler {
            tasks: Vec::new(),
            queue: ReadyQueue::new(),
            running: None,
            slice_used: 0,
            quantum,
            aging,
            now: 0,
            history: Vec::new(),
        })
    }

    /// The current tick (number of ticks elapsed).
    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn running(&self) -> Option<TaskId> {
        self.running
    }

    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }

    pub fn task(&self, id: TaskId) -> Result<&Task, SchedError> {
        self.tasks.get(id).ok_or(SchedError::UnknownTask(id))
    }

    /// What ran on each tick so far (`None` for idle ticks).
    pub fn history(&self) -> &[Option<TaskId>] {
        &self.history
    }

    /// Ready queue contents, front first.
    pub fn ready(&self) -> Vec<TaskId> {
        self.queue.ids()
    }

    /// Nothing running and nothing ready (blocked tasks may remain only if their
    /// dependencies can never finish).
    pub fn is_idle(&self) -> bool {
        self.running.is_none() && self.queue.is_empty()
    }

    /// Adds a task; it becomes ready at once when all its dependencies are done.
    pub fn submit(&mut self, spec: TaskSpec) -> Result<TaskId, SchedError> {
        spec.validate(self.now, self.tasks.len())?;
        if let Some(&dep) = spec
            .deps
            .iter()
            .find(|&&d| self.tasks[d].state == TaskState::Cancelled)
        {
            return Err(SchedError::DependencyCancelled(dep));
        }
        let id = self.tasks.len();
        self.tasks.push(Task::new(id, spec, self.now));
        self.refresh(id);
        Ok(id)
    }

    /// Moves a blocked task to the ready queue once nothing blocks it any more.
    fn refresh(&mut self, id: TaskId) {
        if self.tasks[id].state == TaskState::Blocked && deps::unmet(&self.tasks, id).is_empty() {
            self.tasks[id].state = TaskState::Ready;
            self.tasks[id].waited = 0;
            self.queue.push(id);
        }
    }

    /// Makes `task` wait for `dep`. Only blocked or ready tasks accept new dependencies.
    pub fn add_dependency(&mut self, task: TaskId, dep: TaskId) -> Result<(), SchedError> {
        let state = self.task(task)?.state;
        let dep_state = self.task(dep)?.state;
        match state {
            TaskState::Done | TaskState::Cancelled => {
                return Err(SchedError::AlreadyFinished(task))
            }
            TaskState::Running => return Err(SchedError::TaskRunning(task)),
            TaskState::Blocked | TaskState::Ready => {}
        }
        if dep_state == TaskState::Cancelled {
            return Err(SchedError::DependencyCancelled(dep));
        }
        if task == dep || deps::depends_on(&self.tasks, dep, task) {
            return Err(SchedError::WouldCycle { task, dep });
        }
        if !self.tasks[task].spec.deps.contains(&dep) {
            self.tasks[task].spec.deps.push(dep);
        }
        if dep_state != TaskState::Done && state == TaskState::Ready {
            self.queue.remove(task);
            self.tasks[task].state = TaskState::Blocked;
        }
        Ok(())
    }

    /// Cancels `id` and every unfinished task depending on it; returns the cancelled
    /// ids, ascending.
    pub fn cancel(&mut self, id: TaskId) -> Result<Vec<TaskId>, SchedError> {
        if self.task(id)?.is_finished() {
            return Err(SchedError::AlreadyFinished(id));
        }
        let mut victims = vec![id];
        victims.extend(
            deps::dependents_closure(&self.tasks, id)
                .into_iter()
                .filter(|&t| !self.tasks[t].is_finished()),
        );
        victims.sort_unstable();
        for &victim in &victims {
            self.tasks[victim].state = TaskState::Cancelled;
            self.queue.remove(victim);
            if self.running == Some(victim) {
                self.running = None;
                self.slice_used = 0;
            }
        }
        Ok(victims)
    }

    /// Priority of `id` including its aging boost.
    pub fn effective_priority(&self, id: TaskId) -> Result<u8, SchedError> {
        let task = self.task(id)?;
        Ok(self.aging.effective(task.spec.priority, task.waited))
    }

    fn best_ready(&self) -> Option<TaskId> {
        self.queue.best(|id| {
            let task = &self.tasks[id];
            (
                self.aging.effective(task.spec.priority, task.waited),
                task.spec.deadline,
            )
        })
    }

    /// Decides who runs this tick, re-queueing the current task when it must yield.
    fn select(&mut self) -> Option<TaskId> {
        if let Some(current) = self.running {
            let base = self.tasks[current].spec.priority;
            let preempt = match self.best_ready() {
                Some(challenger) => {
                    let task = &self.tasks[challenger];
                    self.aging.effective(task.spec.priority, task.waited) > base
                }
                None => false,
            };
            if self.slice_used < self.quantum && !preempt {
                return Some(current);
            }
            self.tasks[current].state = TaskState::Ready;
            self.queue.push(current);
            self.slice_used = 0;
        }
        let next = self.best_ready()?;
        self.queue.remove(next);
        self.running = Some(next);
        Some(next)
    }

    /// Advances one tick and returns the task that ran, if any.
    pub fn tick(&mut self) -> Option<TaskId> {
        let chosen = self.select();
        if let Some(id) = chosen {
            for waiting in self.queue.ids() {
                self.tasks[waiting].waited += 1;
            }
            let now = self.now;
            let task = &mut self.tasks[id];
            task.state = TaskState::Running;
            task.waited = 0;
            if task.first_run.is_none() {
                task.first_run = Some(now);
            }
            task.remaining -= 1;
            self.slice_used += 1;
            if task.remaining == 0 {
                task.state = TaskState::Done;
                task.finished_at = Some(now + 1);
                self.running = None;
                self.slice_used = 0;
                for dependent in deps::dependents(&self.tasks, id) {
                    self.refresh(dependent);
                }
            }
        }
        self.now += 1;
        self.history.push(chosen);
        chosen
    }

    /// Runs up to `max_ticks` ticks, stopping early once idle; returns ticks run.
    pub fn run(&mut self, max_ticks: u64) -> u64 {
        let mut ran = 0;
        for _ in 0..max_ticks {
            if self.is_idle() {
                break;
            }
            self.tick();
            ran += 1;
        }
        ran
    }

    /// Ids of finished tasks in completion order.
    pub fn completion_order(&self) -> Vec<TaskId> {
        let mut done: Vec<&Task> = self
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Done)
            .collect();
        done.sort_by_key(|t| (t.finished_at, t.id));
        done.iter().map(|t| t.id).collect()
    }

    /// Summary statistics of the schedule so far.
    pub fn report(&self) -> Report {
        stats::report(&self.tasks, &self.history)
    }

    /// One letter per tick: `A` for task 0, `B` for task 1, ..., `.` when idle.
    pub fn gantt(&self) -> String {
        stats::gantt(&self.history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(quantum: u64) -> Scheduler {
        Scheduler::new(quantum, AgingPolicy::none()).unwrap()
    }

    #[test]
    fn zero_quantum_is_rejected() {
        assert_eq!(
            Scheduler::new(0, AgingPolicy::none()).unwrap_err(),
            SchedError::InvalidQuantum
        );
    }

    #[test]
    fn higher_priority_runs_first() {
        let mut s = plain(10);
        s.submit(TaskSpec::new("low", 1, 2)).unwrap();
        s.submit(TaskSpec::new("high", 5, 3)).unwrap();
        assert_eq!(s.run(100), 5);
        assert_eq!(s.gantt(), "BBBAA");
        assert_eq!(s.completion_order(), vec![1, 0]);
    }

    #[test]
    fn equal_priorities_round_robin_by_quantum() {
        let mut s = plain(2);
        s.submit(TaskSpec::new("a", 3, 3)).unwrap();
        s.submit(TaskSpec::new("b", 3, 3)).unwrap();
        s.submit(TaskSpec::new("c", 3, 1)).unwrap();
        s.run(100);
        assert_eq!(s.gantt(), "AABBCAB");
        assert_eq!(s.task(2).unwrap().finished_at, Some(5));
    }

    #[test]
    fn quantum_of_one_alternates() {
        let mut s = plain(1);
        s.submit(TaskSpec::new("a", 3, 2)).unwrap();
        s.submit(TaskSpec::new("b", 3, 2)).unwrap();
        s.run(100);
        assert_eq!(s.gantt(), "ABAB");
    }

    #[test]
    fn arrival_of_higher_priority_preempts() {
        let mut s = plain(10);
        s.submit(TaskSpec::new("batch", 2, 4)).unwrap();
        s.tick();
        s.tick();
        s.submit(TaskSpec::new("urgent", 7, 1)).unwrap();
        s.run(100);
        assert_eq!(s.gantt(), "AABAA");
        assert_eq!(s.task(0).unwrap().turnaround(), Some(5));
    }

    #[test]
    fn equal_priority_arrival_does_not_preempt() {
        let mut s = plain(10);
        s.submit(TaskSpec::new("a", 4, 3)).unwrap();
        s.tick();
        s.submit(TaskSpec::new("b", 4, 1)).unwrap();
        s.run(100);
        assert_eq!(s.gantt(), "AAAB");
    }

    #[test]
    fn earlier_deadline_wins_ties() {
        let mut s = plain(10);
        s.submit(TaskSpec::new("late", 3, 2).with_deadline(20))
            .unwrap();
        s.submit(TaskSpec::new("soon", 3, 2).with_deadline(5))
            .unwrap();
        s.submit(TaskSpec::new("none", 3, 1)).unwrap();
        s.run(100);
        assert_eq!(s.gantt(), "BBAAC");
    }

    #[test]
    fn dependencies_hold_tasks_back() {
        let mut s = plain(10);
        let fetch = s.submit(TaskSpec::new("fetch", 1, 2)).unwrap();
        let build = s.submit(TaskSpec::new("build", 9, 1).after(fetch)).unwrap();
        assert_eq!(s.task(build).unwrap().state, TaskState::Blocked);
        assert_eq!(s.ready(), vec![fetch]);
        s.tick();
        s.tick();
        assert_eq!(s.task(build).unwrap().state, TaskState::Ready);
        s.run(100);
        assert_eq!(s.gantt(), "AAB");
    }

    #[test]
    fn aging_lets_starved_task_run() {
        let mut s = Scheduler::new(1, AgingPolicy::new(2, 3)).unwrap();
        s.submit(TaskSpec::new("hog", 5, 6)).unwrap();
        s.submit(TaskSpec::new("meek", 3, 1)).unwrap();
        s.run(100);
        assert_eq!(s.gantt(), "AAAABAA");
    }

    #[test]
    fn effective_priority_reflects_waiting() {
        let mut s = Scheduler::new(5, AgingPolicy::new(2, 2)).unwrap();
        s.submit(TaskSpec::new("a", 8, 9)).unwrap();
        let b = s.submit(TaskSpec::new("b", 1, 1)).unwrap();
        assert_eq!(s.effective_priority(b), Ok(1));
        s.tick();
        s.tick();
        assert_eq!(s.effective_priority(b), Ok(2));
        s.tick();
        s.tick();
        s.tick();
        s.tick();
        assert_eq!(s.effective_priority(b), Ok(3));
        assert_eq!(s.effective_priority(7), Err(SchedError::UnknownTask(7)));
    }

    #[test]
    fn cancel_cascades_to_dependents() {
        let mut s = plain(10);
        let a = s.submit(TaskSpec::new("a", 1, 2)).unwrap();
        let b = s.submit(TaskSpec::new("b", 1, 2).after(a)).unwrap();
        let c = s.submit(TaskSpec::new("c", 1, 2).after(b)).unwrap();
        let d = s.submit(TaskSpec::new("d", 1, 1)).unwrap();
        assert_eq!(s.cancel(a), Ok(vec![a, b, c]));
        assert_eq!(s.ready(), vec![d]);
        assert_eq!(s.cancel(b), Err(SchedError::AlreadyFinished(b)));
        assert_eq!(
            s.submit(TaskSpec::new("e", 1, 1).after(c)),
            Err(SchedError::DependencyCancelled(c))
        );
        s.run(100);
        assert_eq!(s.gantt(), "D");
    }

    #[test]
    fn cancel_lists_victims_in_ascending_order() {
        let mut s = plain(10);
        let a = s.submit(TaskSpec::new("a", 1, 1)).unwrap();
        let b = s.submit(TaskSpec::new("b", 1, 1)).unwrap();
        s.add_dependency(a, b).unwrap();
        assert_eq!(s.cancel(b), Ok(vec![a, b]));
        assert!(s.is_idle());
    }

    #[test]
    fn cancelling_running_task_frees_processor() {
        let mut s = plain(10);
        s.submit(TaskSpec::new("a", 5, 5)).unwrap();
        s.submit(TaskSpec::new("b", 1, 1)).unwrap();
        s.tick();
        assert_eq!(s.running(), Some(0));
        s.cancel(0).unwrap();
        assert_eq!(s.running(), None);
        s.run(100);
        assert_eq!(s.gantt(), "AB");
        assert_eq!(s.task(0).unwrap().remaining, 4);
    }

    #[test]
    fn add_dependency_blocks_ready_task() {
        let mut s = plain(10);
        let a = s.submit(TaskSpec::new("a", 9, 1)).unwrap();
        let b = s.submit(TaskSpec::new("b", 1, 2)).unwrap();
        s.add_dependency(a, b).unwrap();
        assert_eq!(s.task(a).unwrap().state, TaskState::Blocked);
        assert_eq!(
            s.add_dependency(b, a),
            Err(SchedError::WouldCycle { task: b, dep: a })
        );
        assert_eq!(
            s.add_dependency(a, a),
            Err(SchedError::WouldCycle { task: a, dep: a })
        );
        s.run(100);
        assert_eq!(s.gantt(), "BBA");
        assert_eq!(s.add_dependency(a, b), Err(SchedError::AlreadyFinished(a)));
    }

    #[test]
    fn add_dependency_rejects_cancelled_and_unknown() {
        let mut s = plain(10);
        let a = s.submit(TaskSpec::new("a", 1, 1)).unwrap();
        let b = s.submit(TaskSpec::new("b", 1, 1)).unwrap();
        s.cancel(a).unwrap();
        assert_eq!(
            s.add_dependency(b, a),
            Err(SchedError::DependencyCancelled(a))
        );
        assert_eq!(s.add_dependency(b, 9), Err(SchedError::UnknownTask(9)));
        assert_eq!(s.add_dependency(a, b), Err(SchedError::AlreadyFinished(a)));
        assert_eq!(s.task(b).unwrap().state, TaskState::Ready);
        assert!(s.task(b).unwrap().spec.deps.is_empty());
    }

    #[test]
    fn add_dependency_on_done_task_keeps_ready() {
        let mut s = plain(10);
        let a = s.submit(TaskSpec::new("a", 1, 1)).unwrap();
        let b = s.submit(TaskSpec::new("b", 1, 3)).unwrap();
        let c = s.submit(TaskSpec::new("c", 1, 1)).unwrap();
        s.tick();
        s.tick();
        assert_eq!(s.add_dependency(b, c), Err(SchedError::TaskRunning(b)));
        assert_eq!(s.add_dependency(c, a), Ok(()));
        assert_eq!(s.task(c).unwrap().state, TaskState::Ready);
        assert_eq!(s.task(c).unwrap().spec.deps, vec![a]);
    }

    #[test]
    fn idle_ticks_are_recorded() {
        let mut s = plain(3);
        assert_eq!(s.tick(), None);
        s.submit(TaskSpec::new("a", 1, 1)).unwrap();
        assert_eq!(s.tick(), Some(0));
        assert_eq!(s.tick(), None);
        assert_eq!(s.gantt(), ".A.");
        assert_eq!(s.now(), 3);
        assert_eq!(s.task(0).unwrap().response_time(), Some(0));
        assert!(s.is_idle());
    }

    #[test]
    fn run_is_bounded() {
        let mut s = plain(3);
        s.submit(TaskSpec::new("long", 1, 50)).unwrap();
        assert_eq!(s.run(10), 10);
        assert_eq!(s.task(0).unwrap().remaining, 40);
        assert_eq!(s.run(100), 40);
        assert_eq!(s.run(100), 0);
    }
}
