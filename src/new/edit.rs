//! Text of the files `loket new` writes: new request and account files built with
//! `toml_edit` (so every string is escaped correctly), and edits of existing account
//! files that keep their comments, order and layout.

use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value, value};

/// Parses an existing file for editing.
pub fn parse(text: &str) -> Result<DocumentMut, toml_edit::TomlError> {
    text.parse::<DocumentMut>()
}

/// Sets `key` to a string, keeping the key's and the old value's spacing and comment.
pub fn set_str(table: &mut Table, key: &str, v: &str) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = Value::from(v);
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(key, value(v));
        }
    }
}

/// Appends `v` to the string array `key` (created if missing), laid out like the
/// array's last element so one-line and one-per-line arrays both stay tidy.
pub fn push_str(table: &mut Table, key: &str, v: &str) {
    if !table.contains_key(key) {
        table.insert(key, value(Array::new()));
    }
    let Some(arr) = table.get_mut(key).and_then(Item::as_array_mut) else {
        // Not an array: replace it rather than lose the ticket; the check reports the rest.
        let mut arr = Array::new();
        arr.push(v);
        table.insert(key, value(arr));
        return;
    };
    if arr.is_empty() {
        arr.push(v);
        return;
    }
    // One element per line: indent like the last one (without any comment of its
    // own); otherwise one space after the comma.
    let last_prefix = arr
        .iter()
        .last()
        .and_then(|l| l.decor().prefix())
        .and_then(|p| p.as_str())
        .unwrap_or("");
    let indent = match last_prefix.rfind('\n') {
        Some(nl) => last_prefix[nl..].to_string(),
        None => " ".to_string(),
    };
    let mut new = Value::from(v);
    new.decor_mut().set_prefix(indent.clone());
    // A comment after the last element's comma belongs to that element: keep it
    // there instead of letting it slide behind the new one.
    let trailing = arr.trailing().as_str().unwrap_or("").to_string();
    if arr.trailing_comma()
        && trailing.contains('#')
        && let Some(nl) = trailing.rfind('\n')
    {
        let (comment, close) = trailing.split_at(nl);
        new.decor_mut().set_prefix(format!("{comment}{indent}"));
        arr.set_trailing(close);
    }
    arr.push_formatted(new);
}

/// A TOML date or date-time value from its RFC 3339 text.
pub fn datetime(text: &str) -> Value {
    text.parse::<toml_edit::Datetime>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(text))
}

/// A `[table]` of string fields in the given order, skipping absent ones.
pub fn string_table(fields: &[(&str, Option<&str>)]) -> Table {
    let mut t = Table::new();
    for (k, v) in fields {
        if let Some(v) = v {
            t.insert(k, value(*v));
        }
    }
    t
}

/// The inline `{ name = …, nip = …, opd = … }` of a key holder.
pub fn holder_inline(name: &str, nip: Option<&str>, opd: &str) -> InlineTable {
    let mut h = InlineTable::new();
    h.insert("name", name.into());
    if let Some(nip) = nip {
        h.insert("nip", nip.into());
    }
    h.insert("opd", opd.into());
    h
}

/// Appends a `[[key]]` table, creating the array of tables if missing.
pub fn push_table(doc: &mut DocumentMut, key: &str, table: Table) {
    if doc.get(key).and_then(Item::as_array_of_tables).is_none() {
        doc.insert(key, Item::ArrayOfTables(ArrayOfTables::new()));
    }
    if let Some(aot) = doc.get_mut(key).and_then(Item::as_array_of_tables_mut) {
        aot.push(table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_comments_and_layout() {
        let text = "# Akun Budi, dibuat 2026\naddress = \"budi@kuduskab.go.id\"\nstatus = \"active\" # sejak SK 12\ntickets = [\n    \"KDS-AAAAA-AAAAA\", # pembuatan\n]\n\n[holder] # data pegawai\nname = \"Budi\"\nopd = \"Dinas Kesehatan\"\n";
        let mut doc = parse(text).unwrap();
        set_str(doc.as_table_mut(), "status", "disabled");
        push_str(doc.as_table_mut(), "tickets", "KDS-BBBBB-BBBBB");
        let out = doc.to_string();
        assert!(out.starts_with("# Akun Budi, dibuat 2026\n"), "{out}");
        assert!(
            out.contains("status = \"disabled\" # sejak SK 12\n"),
            "{out}"
        );
        assert!(
            out.contains("\"KDS-AAAAA-AAAAA\", # pembuatan\n    \"KDS-BBBBB-BBBBB\""),
            "{out}"
        );
        assert!(out.contains("[holder] # data pegawai\n"), "{out}");
        let mut doc = parse(&out).unwrap();
        push_str(doc.as_table_mut(), "tickets", "KDS-CCCCC-CCCCC");
        assert!(
            doc.to_string()
                .contains("# pembuatan\n    \"KDS-BBBBB-BBBBB\",\n    \"KDS-CCCCC-CCCCC\""),
            "{doc}"
        );
        let mut doc = parse("tickets = [\"A\"]\n").unwrap();
        push_str(doc.as_table_mut(), "tickets", "B");
        assert_eq!(doc.to_string(), "tickets = [\"A\", \"B\"]\n");
        let one_line = "tickets = [\"A\", \"B\"]\n";
        let mut doc = parse(one_line).unwrap();
        push_str(doc.as_table_mut(), "tickets", "C");
        assert_eq!(doc.to_string(), "tickets = [\"A\", \"B\", \"C\"]\n");
    }

    #[test]
    fn strings_are_escaped() {
        let t = string_table(&[("name", Some("Siti \"Ani\" Aminah\\")), ("nip", None)]);
        let mut doc = DocumentMut::new();
        doc.insert("applicant", Item::Table(t));
        let back: toml::Table = toml::from_str(&doc.to_string()).unwrap();
        assert_eq!(
            back["applicant"]["name"].as_str(),
            Some("Siti \"Ani\" Aminah\\")
        );
        assert!(back["applicant"].get("nip").is_none());
    }
}
