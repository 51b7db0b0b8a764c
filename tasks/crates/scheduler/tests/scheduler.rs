use scheduler::{AgingPolicy, SchedError, Scheduler, TaskSpec, TaskState};

#[test]
fn build_pipeline_runs_in_dependency_order() {
    let mut s = Scheduler::new(2, AgingPolicy::none()).unwrap();
    let fetch = s.submit(TaskSpec::new("fetch", 2, 2)).unwrap();
    let compile = s
        .submit(TaskSpec::new("compile", 5, 3).after(fetch))
        .unwrap();
    let lint = s.submit(TaskSpec::new("lint", 5, 1).after(fetch)).unwrap();
    let package = s
        .submit(TaskSpec::new("package", 9, 1).after(compile).after(lint))
        .unwrap();
    let docs = s.submit(TaskSpec::new("docs", 1, 2)).unwrap();
    assert_eq!(s.run(100), 9);
    assert_eq!(s.gantt(), "AABBCBDEE");
    assert_eq!(
        s.completion_order(),
        vec![fetch, lint, compile, package, docs]
    );
    let report = s.report();
    assert_eq!(report.completed, 5);
    assert_eq!(report.context_switches, 5);
    assert_eq!(report.utilization_percent(), 100);
}

#[test]
fn deadlines_are_tracked_in_report() {
    let mut s = Scheduler::new(4, AgingPolicy::none()).unwrap();
    s.submit(TaskSpec::new("a", 3, 3).with_deadline(3)).unwrap();
    s.submit(TaskSpec::new("b", 3, 3).with_deadline(4)).unwrap();
    s.submit(TaskSpec::new("c", 3, 2).with_deadline(9)).unwrap();
    s.run(100);
    assert_eq!(s.gantt(), "AAABBBCC");
    let report = s.report();
    assert_eq!(report.missed_deadlines, vec![1]);
    assert_eq!(report.max_lateness, 2);
    assert_eq!(report.mean_turnaround, Some((3 + 6 + 8) / 3));
}

#[test]
fn aging_prevents_starvation_under_load() {
    let mut starving = Scheduler::new(1, AgingPolicy::none()).unwrap();
    let mut aged = Scheduler::new(1, AgingPolicy::new(3, 4)).unwrap();
    for s in [&mut starving, &mut aged] {
        s.submit(TaskSpec::new("server", 6, 20)).unwrap();
        s.submit(TaskSpec::new("backup", 2, 1)).unwrap();
        s.run(100);
    }
    // Without aging the backup waits for all 20 ticks of the server.
    assert_eq!(starving.task(1).unwrap().finished_at, Some(21));
    // With aging it reaches priority 2 + 4 = 6 after 12 waiting ticks and, being older
    // in the queue, wins the tie.
    assert_eq!(aged.task(1).unwrap().finished_at, Some(13));
    assert_eq!(
        aged.gantt(),
        format!("{}B{}", "A".repeat(12), "A".repeat(8))
    );
}

#[test]
fn cancellation_mid_run() {
    let mut s = Scheduler::new(3, AgingPolicy::none()).unwrap();
    let a = s.submit(TaskSpec::new("a", 4, 4)).unwrap();
    let b = s.submit(TaskSpec::new("b", 4, 2).after(a)).unwrap();
    let c = s.submit(TaskSpec::new("c", 1, 2)).unwrap();
    s.run(2);
    assert_eq!(s.cancel(a), Ok(vec![a, b]));
    s.run(100);
    assert_eq!(s.gantt(), "AACC");
    assert_eq!(s.task(b).unwrap().state, TaskState::Cancelled);
    assert_eq!(s.task(c).unwrap().state, TaskState::Done);
    let report = s.report();
    assert_eq!(
        (report.completed, report.cancelled, report.pending),
        (1, 2, 0)
    );
}

#[test]
fn invalid_submissions_leave_state_untouched() {
    let mut s = Scheduler::new(2, AgingPolicy::default()).unwrap();
    s.submit(TaskSpec::new("a", 1, 3)).unwrap();
    s.run(2);
    assert_eq!(
        s.submit(TaskSpec::new("late", 1, 1).with_deadline(2)),
        Err(SchedError::DeadlineInPast {
            deadline: 2,
            now: 2
        })
    );
    assert_eq!(
        s.submit(TaskSpec::new("ghost", 1, 1).after(5)),
        Err(SchedError::UnknownDependency { dep: 5 })
    );
    assert_eq!(
        s.submit(TaskSpec::new("big", 11, 1)),
        Err(SchedError::InvalidPriority(11))
    );
    assert_eq!(s.tasks().len(), 1);
    assert_eq!(s.submit(TaskSpec::new("ok", 1, 1).with_deadline(3)), Ok(1));
}
