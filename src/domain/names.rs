//! Name folding for search: case, diacritics and script do not matter, so "Магомед",
//! "Magomed" and "MAGOMED" fold to the same key, and "lukasz" finds "Łukasz".

/// Transliterates to ASCII (Cyrillic, Arabic script, Polish letters …), lower-cases, and keeps
/// letters and digits, with single spaces between words.
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let words: Vec<String> =
        ascii.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_owned).collect();
    words.join(" ")
}

/// The distinct folded words of several names, for the search index.
pub fn tokens<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut tokens: Vec<String> = names
        .into_iter()
        .flat_map(|name| fold(name).split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// A person's full name with word order ignored ("Kadyrov Ramzan" = "Ramzan Kadyrov"), for
/// spotting duplicates.
pub fn name_key(given_names: &str, family_name: &str) -> String {
    let mut words: Vec<String> = fold(&format!("{given_names} {family_name}")).split(' ').map(str::to_owned).collect();
    words.sort();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_latin_and_case_fold_alike() {
        assert_eq!(fold("Магомед"), "magomed");
        assert_eq!(fold("MAGOMED"), "magomed");
        assert_eq!(fold("Magomed"), "magomed");
    }

    #[test]
    fn polish_diacritics_fold_away() {
        assert_eq!(fold("Łukasz Żółć"), "lukasz zolc");
        assert_eq!(fold("  Anna-Maria  O'Neil "), "anna maria o neil");
    }

    #[test]
    fn tokens_are_distinct_and_sorted() {
        assert_eq!(tokens(["Ramzan Akhmatovich", "Kadyrov", "Рамзан"]), ["akhmatovich", "kadyrov", "ramzan"]);
    }

    #[test]
    fn name_key_ignores_word_order() {
        assert_eq!(name_key("Ramzan", "Kadyrov"), name_key("Kadyrov", "RAMZAN"));
    }
}
