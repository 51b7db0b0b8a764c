//! Realistic pipelines combining several utilities.

use textutil::analysis::{collapse_whitespace, top_words};
use textutil::case::{split_words, to_screaming_snake_case};
use textutil::wrap::{dedent, indent, justify};
use textutil::{
    center, closest, fill, grapheme_count, is_palindrome, levenshtein, slugify, str_width,
    to_camel_case, to_kebab_case, to_snake_case, truncate, wrap,
};

const PASSAGE: &str = "It was the best of times, it was the worst of times, \
it was the age of wisdom, it was the age of foolishness";

#[test]
fn wrapped_lines_never_exceed_width() {
    for width in 1..=40 {
        for line in wrap(PASSAGE, width) {
            assert!(str_width(&line) <= width, "width {width}: {line:?}");
        }
    }
    let lines = wrap(PASSAGE, 30);
    assert_eq!(lines.join(" "), collapse_whitespace(PASSAGE));
    assert_eq!(lines[0], "It was the best of times, it");
    assert_eq!(lines.len(), 4);
}

#[test]
fn justified_paragraph_has_flush_margins() {
    let lines = wrap(PASSAGE, 24);
    let last = lines.len() - 1;
    for (i, line) in lines.iter().enumerate() {
        let out = if i == last {
            line.clone()
        } else {
            justify(line, 24)
        };
        if i != last {
            assert_eq!(str_width(&out), 24, "{out:?}");
            assert!(!out.ends_with(' '));
        }
        assert_eq!(collapse_whitespace(&out), *line);
    }
}

#[test]
fn identifier_conversions_agree() {
    let inputs = [
        "parseJSONFile",
        "parse_json_file",
        "Parse JSON file",
        "parse-json-file",
    ];
    for input in inputs {
        assert_eq!(to_snake_case(input), "parse_json_file", "{input}");
        assert_eq!(to_kebab_case(input), "parse-json-file", "{input}");
        assert_eq!(to_camel_case(input), "parseJsonFile", "{input}");
        assert_eq!(to_screaming_snake_case(input), "PARSE_JSON_FILE", "{input}");
    }
    assert_eq!(split_words("parseJSONFile").len(), 3);
}

#[test]
fn did_you_mean_suggestions() {
    let known = ["status", "stash", "start", "stats", "restart"];
    // "stats" is one deletion away, "status" one transposition (two edits)
    assert_eq!(closest("stauts", &known, 2), Some("stats"));
    assert_eq!(closest("stautus", &known, 2), Some("status"));
    assert_eq!(closest("strat", &known, 2), Some("start"));
    assert_eq!(closest("zzz", &known, 2), None);
    assert_eq!(levenshtein("stauts", "status"), 2);
}

#[test]
fn report_box_with_unicode_title() {
    let title = "Résumé 日本";
    assert_eq!(grapheme_count(title), 9);
    assert_eq!(str_width(title), 11);
    let header = center(title, 21, '=');
    assert_eq!(header, "=====Résumé 日本=====");
    assert_eq!(str_width(&header), 21);
    assert_eq!(truncate(title, 8, "…"), "Résumé…");
}

#[test]
fn top_words_of_passage() {
    let top = top_words(PASSAGE, 3);
    assert_eq!(
        top,
        vec![
            ("it".to_string(), 4),
            ("of".to_string(), 4),
            ("the".to_string(), 4)
        ]
    );
}

#[test]
fn slug_and_palindrome_on_titles() {
    assert_eq!(
        slugify("Ça va? L'été à Zürich — 2024!", 60),
        "ca-va-l-ete-a-zurich-2024"
    );
    assert!(is_palindrome("Was it a car or a cat I saw?"));
    assert!(!is_palindrome("Was it a car or a dog I saw?"));
}

#[test]
fn indent_dedent_round_trip() {
    let block = "fn main() {\n    println!(\"hi\");\n}\n";
    let shifted = indent(block, "    ");
    assert_eq!(dedent(&shifted), block);
    assert_eq!(fill("aaa bbb ccc", 7), "aaa bbb\nccc");
}
