"""Pure parts of the envs: tool schemas, action parsing (real openai-harmony), frames, roles."""

from __future__ import annotations

import pytest

from cargogym.config import ConfigError
from cargogym.envs.actions import parse_action
from cargogym.envs.frames import FrameStack, PathError, normalize_rel, similarity
from cargogym.envs.roles import END, PlanError, load_roles, parse_plan, parse_verdict
from cargogym.envs.spaces import UnicodeText
from cargogym.envs.tools import TOOL_ORDER, ToolArgumentError, tool_definitions, validate_arguments

CALL = '<|channel|>commentary to=functions.{name} <|constrain|>json<|message|>{args}<|call|>'


# -- tools ------------------------------------------------------------------------------------
def test_tool_definitions_are_json_schema_objects():
    defs = tool_definitions(TOOL_ORDER, roles=["coder", "tester"])
    assert [d["name"] for d in defs] == list(TOOL_ORDER)
    for d in defs:
        assert set(d) == {"name", "description", "parameters"}
        assert d["parameters"]["type"] == "object"
        assert set(d["parameters"]["required"]) <= set(d["parameters"]["properties"])
    delegate = defs[-1]["parameters"]["properties"]["role"]
    assert delegate["enum"] == ["coder", "tester"]
    defs[0]["description"] = "mutated"
    assert tool_definitions(["apply_patch"])[0]["description"] != "mutated"


@pytest.mark.parametrize("name,args,fragment", [
    ("read_file", {}, "missing required argument(s) path"),
    ("read_file", {"path": 3}, "'path' must be string, got integer"),
    ("read_file", {"path": "a", "start": "1"}, "'start' must be integer"),
    ("read_file", {"path": "a", "start": 0}, "must be >= 1"),
    ("read_file", {"path": "a", "line": 1}, "unknown argument(s) line"),
    ("apply_patch", ["diff"], "arguments must be a JSON object"),
    ("delegate_subtask", {"role": "coder", "instructions": "x", "context_files": "src/a.rs"},
     "'context_files' must be array"),
    ("delegate_subtask", {"role": "coder", "instructions": "x", "context_files": [1]}, "every item"),
    ("delegate_subtask", {"role": "boss", "instructions": "x", "context_files": []}, "must be one of"),
    ("run_tests", {"filter": True}, "'filter' must be string, got boolean"),
    ("nope", {}, "unknown tool"),
])
def test_validate_arguments_rejects_bad_calls(name, args, fragment):
    with pytest.raises(ToolArgumentError) as e:
        validate_arguments(name, args, roles=["coder"])
    assert fragment in str(e.value)


def test_validate_arguments_names_non_str_keys_without_crashing():
    with pytest.raises(ToolArgumentError) as e:
        validate_arguments("read_file", {"path": "a", 1: "x", ("t",): 2})
    assert "unknown argument(s) " in str(e.value) and "1" in str(e.value) and "('t',)" in str(e.value)


def test_json_problem_and_plain_copies():
    from cargogym.envs.actions import json_problem

    assert json_problem({"a": [1, 2.5, None, True, "x", {"b": []}], "c": -2**63}) is None
    assert "beyond 64 bits in argument 'c'" in json_problem({"c": 2**63})
    assert "inf is not a JSON number in argument 'a'[1]" in json_problem({"a": [0, float("inf")]})
    assert "bytes value is not JSON in argument 'a'['b']" in json_problem({"a": {"b": b"x"}})
    assert "names must be strings, got NoneType None" in json_problem({None: 1})
    # accepted arguments are a plain JSON copy: tuples become lists, the caller's objects are not kept
    args = {"role": "coder", "instructions": "x", "context_files": ("src/a.rs",)}
    act = parse_action({"tool": "delegate_subtask", "arguments": args}, 1000)
    assert act.kind == "tool" and act.arguments["context_files"] == ["src/a.rs"]
    assert act.arguments is not args


def test_validate_arguments_accepts_and_normalises():
    assert validate_arguments("read_file", {"path": "src/lib.rs", "start": 2.0}) == {"path": "src/lib.rs", "start": 2}
    assert validate_arguments("cargo_check", None) == {}


# -- actions ----------------------------------------------------------------------------------
def test_parse_raw_tool_call_both_header_orders():
    a = parse_action(CALL.format(name="read_file", args='{"path": "src/lib.rs"}'), 1000)
    assert (a.kind, a.tool, a.arguments) == ("tool", "read_file", {"path": "src/lib.rs"})
    b = parse_action('<|start|>assistant to=functions.run_tests<|channel|>commentary <|constrain|>json'
                     '<|message|>{}<|call|>', 1000)
    assert (b.kind, b.tool, b.arguments) == ("tool", "run_tests", {})
    assert a.messages and a.messages[-1]["recipient"] == "functions.read_file"


def test_parse_final_and_structured_actions():
    f = parse_action("<|channel|>analysis<|message|>hm<|end|><|start|>assistant<|channel|>final<|message|>APPROVE ok<|return|>", 1000)
    assert f.kind == "final" and f.final == "APPROVE ok" and len(f.messages) == 2
    d = parse_action({"tool": "functions.search", "arguments": '{"pattern": "fn"}'}, 1000)
    assert (d.kind, d.tool, d.arguments) == ("tool", "search", {"pattern": "fn"})
    g = parse_action({"final": "REQUEST_CHANGES: bug"}, 1000)
    assert g.kind == "final" and g.messages[0]["channel"] == "final"


def test_parse_generation_keeps_ids_and_logprobs():
    from cargogym.harmony.render import encode

    text = CALL.format(name="list_files", args="{}")
    ids = encode(text)
    a = parse_action({"completion": None, "token_ids": ids, "logprobs": [-0.5] * len(ids)}, 1000)
    assert a.kind == "tool" and a.tool == "list_files" and a.token_ids == ids and a.n_tokens == len(ids)
    b = parse_action({"completion": text, "token_ids": ids, "logprobs": [-0.1] * len(ids)}, 1000)
    assert b.kind == "tool" and b.completion == text and b.logprobs == [-0.1] * len(ids)


@pytest.mark.parametrize("action,fragment", [
    ("just some prose", "not valid Harmony"),
    ("", "empty completion"),
    (CALL.format(name="read_file", args='{"path": '), "not valid JSON"),
    (CALL.format(name="read_file", args='["a"]'), "must be a JSON object"),
    ("<|channel|>analysis<|message|>only thinking<|end|>", "no tool call and no final message"),
    ({"tool": "read_file", "arguments": "{bad"}, "not valid JSON"),
    ({"tool": 3}, "non-empty string"),
    ({"foo": 1}, "needs 'tool'"),
    ({"completion": 5}, "'completion' must be a string"),
    ({"token_ids": ["a"]}, "list of integers"),
    (12345, "must be a completion string or a dict"),
    ("x" * 101, "action too long"),
])
def test_parse_action_errors_never_raise(action, fragment):
    a = parse_action(action, 100)
    assert a.kind == "invalid"
    assert fragment in a.error


# -- frames -----------------------------------------------------------------------------------
def test_normalize_rel_confines_paths():
    assert normalize_rel("./src//lib.rs") == "src/lib.rs"
    for bad in ("/etc/passwd", "../x", "src/../../x", "", "C:\\x"):
        with pytest.raises(PathError):
            normalize_rel(bad)


def test_similarity_guard_values():
    task = "Some tests of the ledger crate fail. Find and fix the bugs in the library code."
    assert similarity(task, task.upper() + "  ") == 1.0
    assert similarity(task, task.replace("bugs", "bug")) >= 0.8
    assert similarity(task, "Fix apply_rate in src/money.rs: halves must round away from zero.") < 0.8


def test_frame_stack_tree_and_edit_denial():
    st = FrameStack()
    root = st.open(role="agent", instructions="t", messages=[], tools=[])
    child = st.open(role="coder", instructions="c", messages=[], tools=[], parent=root, owned_files=["src/a.rs"])
    grand = st.open(role="tester", instructions="g", messages=[], tools=[], parent=child,
                    owned_files=["src/a.rs", "tests/t.rs"], may_edit=lambda p: p.startswith("tests/"))
    assert (grand.depth, grand.parent_id) == (2, child.frame_id)
    assert st.edit_denial("src/a.rs") == "role"          # grandchild's role: tests only
    assert st.edit_denial("tests/t.rs") == "ownership"   # not owned by the child above it
    assert st.close_active("done", "final") is child
    assert st.edit_denial("src/a.rs") is None and st.edit_denial("src/b.rs") == "ownership"
    st.close_active("ok", "submit")
    assert st.active is root and st.edit_denial("anything.rs") is None
    recs = st.records()
    assert [r["parent_id"] for r in recs] == [None, 0, 1]
    assert recs[2]["result"] == "done" and recs[2]["ended_by"] == "final"


# -- roles ------------------------------------------------------------------------------------
def test_roles_config_loads_and_follows_the_seed():
    rc = load_roles("multi_agent_roles")
    assert rc.roles["planner"].tools == [] and rc.roles["planner"].output == "plan"
    assert {"apply_patch", "run_tests", "read_file", "search", "delegate_subtask"} <= set(rc.roles["coder"].tools)
    assert not {"apply_patch", "submit"} & set(rc.roles["reviewer"].tools)
    assert rc.roles["reviewer"].output == "verdict"
    tester_rule = rc.edit_rule("tester")
    assert tester_rule("tests/ledger.rs") and tester_rule("src/money/tests.rs") and not tester_rule("src/money.rs")
    assert rc.edit_rule("coder") is None and rc.edit_rule("reviewer")("src/x.rs") is False
    pm = rc.phases
    assert pm.first("single_bug") == "planner" and pm.first("review") == "reviewer"
    assert pm.next("planner", "done", "single_bug", {"planner": 1}) == "coder"
    assert pm.next("reviewer", "request_changes", "single_bug", {"coder": 1}) == "coder"
    assert pm.next("reviewer", "request_changes", "single_bug", {"coder": pm.max_visits}) == END
    assert pm.next("tester", "green", "single_bug", {}) == END
    assert pm.next("reviewer", "approve", "review", {}) == END


def test_roles_config_errors_name_the_key(tmp_path):
    bad = tmp_path / "roles.yaml"
    bad.write_text("roles:\n  coder:\n    tools: [apply_patch, hack]\n")
    with pytest.raises(ConfigError, match="unknown tool"):
        load_roles(bad)
    bad.write_text("roles:\n  coder:\n    tools: []\nphases:\n  transitions:\n    coder: {done: boss}\n")
    with pytest.raises(ConfigError, match="unknown role 'boss'"):
        load_roles(bad)


def test_parse_verdict_and_plan():
    assert parse_verdict("APPROVE\nlooks good") == "APPROVE"
    assert parse_verdict("**Request changes**: off by one") == "REQUEST_CHANGES"
    assert parse_verdict("I approve") is None and parse_verdict("") is None
    from cargogym.envs.roles import review_answer

    assert review_answer("APPROVE\nlooks good") == ("APPROVE", None)
    assert review_answer("**Request changes**: off by one in src/a.rs:3") == ("REQUEST_CHANGES", None)
    for bare in ("APPROVE", "  **APPROVE**.", "REQUEST_CHANGES:", "Request changes -- !"):
        verdict, problem = review_answer(bare)
        assert verdict is None and "needs comments" in problem, bare
    assert review_answer("I approve")[1].startswith("answer with a final message that starts with APPROVE")
    plan = parse_plan('Plan:\n```json\n{"subtasks": [{"description": "fix rounding", "files": ["src/money.rs"]}]}\n```')
    assert plan == {"subtasks": [{"description": "fix rounding", "files": ["src/money.rs"], "role": "coder"}], "order": [0]}
    for text, fragment in [("no json here", "no JSON"), ('{"subtasks": []}', "non-empty"),
                           ('{"subtasks": [{"description": "x"}], "order": [3]}', "order"),
                           ('{"subtasks": [{"description": "x", "role": "boss"}]}', "unknown role")]:
        with pytest.raises(PlanError, match=fragment):
            parse_plan(text, ["coder"])


def test_unicode_text_space_accepts_any_text():
    space = UnicodeText(50)
    assert space.contains("fn main() { println!(\"héllo 🦀\"); }\n\t")
    assert not space.contains("x" * 51) and not space.contains(b"bytes")
    space.seed(0)
    assert space.contains(space.sample())
