//! The name matcher against a labelled set of real-world name pairs (tests/data/name_pairs.tsv):
//! the same person written in other scripts and transliterations, and different people with
//! similar names. Prints precision and recall at the default threshold and fails below 0.95.

use casebridge::domain::names::{SAME_PERSON, similarity};

struct Pair {
    a: String,
    b: String,
    same: bool,
}

fn pairs() -> Vec<Pair> {
    let text = include_str!("data/name_pairs.tsv");
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(fields.len() >= 3, "malformed line: {line:?}");
            let same = match fields[2] {
                "1" => true,
                "0" => false,
                other => panic!("label must be 1 or 0, not {other:?}: {line:?}"),
            };
            Pair { a: fields[0].to_owned(), b: fields[1].to_owned(), same }
        })
        .collect()
}

#[test]
fn the_labelled_set_is_large_enough_to_measure() {
    let pairs = pairs();
    assert!(pairs.iter().filter(|p| p.same).count() >= 300);
    assert!(pairs.iter().filter(|p| !p.same).count() >= 300);
}

#[test]
fn the_matcher_finds_the_same_person_and_keeps_different_people_apart() {
    let (mut true_positive, mut false_positive, mut false_negative, mut true_negative) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for pair in pairs() {
        let score = similarity(&pair.a, &pair.b);
        // The matcher is symmetric: the order of the two names never changes the answer.
        assert_eq!(score, similarity(&pair.b, &pair.a), "{} / {}", pair.a, pair.b);
        let predicted = score >= SAME_PERSON;
        match (predicted, pair.same) {
            (true, true) => true_positive += 1,
            (true, false) => {
                false_positive += 1;
                misses.push(format!("false match   {:.2}  {} / {}", score, pair.a, pair.b));
            }
            (false, true) => {
                false_negative += 1;
                misses.push(format!("missed match  {:.2}  {} / {}", score, pair.a, pair.b));
            }
            (false, false) => true_negative += 1,
        }
    }
    let precision = f64::from(true_positive) / f64::from(true_positive + false_positive);
    let recall = f64::from(true_positive) / f64::from(true_positive + false_negative);
    for miss in &misses {
        println!("{miss}");
    }
    println!(
        "name matching at threshold {SAME_PERSON}: precision {precision:.3}, recall {recall:.3} \
         ({true_positive} found, {false_negative} missed, {false_positive} false, {true_negative} kept apart)"
    );
    assert!(recall >= 0.95, "recall {recall:.3} is below 0.95");
    assert!(precision >= 0.95, "precision {precision:.3} is below 0.95");
}
