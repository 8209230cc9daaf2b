//! JSON Merge Patch fields (SPEC §4.5): an absent field stays as it is, `null` clears it.

use serde::{Deserialize, Deserializer};

use super::FieldErrors;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called for a present field: absent fields take the default.
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Self::Value(value),
            None => Self::Null,
        })
    }
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// The patched value of a field that cannot be empty: the given value, or the current one
    /// when absent; `null` is recorded as an error under `field`.
    pub fn apply(self, errors: &mut FieldErrors, field: &str, current: T) -> T {
        match self {
            Self::Absent => current,
            Self::Null => {
                errors.add(field, "cannot be cleared");
                current
            }
            Self::Value(value) => value,
        }
    }

    /// The patched value of a field that may be empty: `null` clears it.
    pub fn apply_optional(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Absent => current,
            Self::Null => None,
            Self::Value(value) => Some(value),
        }
    }
}

impl<T> Patch<Vec<T>> {
    /// The patched value of a list: `null` empties it.
    pub fn apply_list(self, current: Vec<T>) -> Vec<T> {
        match self {
            Self::Absent => current,
            Self::Null => Vec::new(),
            Self::Value(value) => value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        phone: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_are_told_apart() {
        let absent: Body = serde_json::from_str("{}").unwrap();
        let null: Body = serde_json::from_str(r#"{"phone": null}"#).unwrap();
        let value: Body = serde_json::from_str(r#"{"phone": "+48 600"}"#).unwrap();
        assert_eq!(absent.phone, Patch::Absent);
        assert_eq!(null.phone, Patch::Null);
        assert_eq!(value.phone, Patch::Value("+48 600".to_owned()));
    }
}
