//! The root README.zh.md is a translation of README.md and stays one: the
//! same headings (level by level, in the same order), the same fenced code
//! blocks (byte for byte, comments included), and the same tables (as many,
//! with as many rows each). In a table's first column, a cell that is code
//! (`like this`) is the same in both; a cell of prose is translated, but the
//! code inside it (its `spans`) stays as it is.
//!
//! A failure lists every difference found, each named by its position
//! (section N, code block N, table N) and the English heading it is under,
//! so that the translation can be brought back in step.

use std::path::Path;

const ENGLISH: &str = "README.md";
const CHINESE: &str = "README.zh.md";

#[test]
fn readme_zh_is_in_step_with_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |name: &str| {
        std::fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let en = Doc::parse(&read(ENGLISH));
    let zh = Doc::parse(&read(CHINESE));
    assert!(
        en.headings.len() > 10 && en.blocks.len() > 5 && en.tables.len() > 3,
        "{ENGLISH} parsed to too little: {} headings, {} code blocks, {} tables",
        en.headings.len(),
        en.blocks.len(),
        en.tables.len()
    );
    let mut problems = Vec::new();
    if !zh.text.contains(&format!("[English]({ENGLISH})")) {
        problems.push(format!(
            "{CHINESE} has no link back to the English: [English]({ENGLISH})"
        ));
    }
    if compare_headings(&en, &zh, &mut problems) {
        compare_blocks(&en, &zh, &mut problems);
        compare_tables(&en, &zh, &mut problems);
    } else {
        // Blocks and tables are paired by the section they are in, which
        // needs the sections in step first.
        for (what, e, z) in [
            ("code blocks", en.blocks.len(), zh.blocks.len()),
            ("tables", en.tables.len(), zh.tables.len()),
        ] {
            if e != z {
                problems.push(format!("{ENGLISH} has {e} {what}, {CHINESE} has {z}"));
            }
        }
        problems
            .push("code blocks and tables are compared once the headings are in step".to_owned());
    }
    assert!(
        problems.is_empty(),
        "{CHINESE} is out of step with {ENGLISH} ({} difference(s)):\n- {}",
        problems.len(),
        problems.join("\n- ")
    );
}

/// Whether the headings are in step (the same levels in the same order).
fn compare_headings(en: &Doc, zh: &Doc, problems: &mut Vec<String>) -> bool {
    for i in 0..en.headings.len().max(zh.headings.len()) {
        match (en.headings.get(i), zh.headings.get(i)) {
            (Some(e), Some(z)) if e.level == z.level => {}
            (Some(e), Some(z)) => {
                problems.push(format!(
                    "section {}: {ENGLISH} has \"{}\" (line {}), {CHINESE} has \"{}\" (line {}); {ENGLISH} has {} headings, {CHINESE} has {}: one is missing, extra or of another level at or before this one (the previous section in {ENGLISH} is \"{}\")",
                    i + 1,
                    e.text,
                    e.line,
                    z.text,
                    z.line,
                    en.headings.len(),
                    zh.headings.len(),
                    en.heading(i)
                ));
                // After one heading is missing or extra, every later one is
                // off by one: the first difference is the one to fix.
                return false;
            }
            (Some(e), None) => {
                problems.push(format!(
                    "section {}: {ENGLISH} has \"{}\" (line {}), {CHINESE} has no more headings ({} in all, {} in {ENGLISH})",
                    i + 1,
                    e.text,
                    e.line,
                    zh.headings.len(),
                    en.headings.len()
                ));
                return false;
            }
            (None, Some(z)) => {
                problems.push(format!(
                    "section {}: {CHINESE} has \"{}\" (line {}), {ENGLISH} has no more headings ({} in all, {} in {CHINESE})",
                    i + 1,
                    z.text,
                    z.line,
                    en.headings.len(),
                    zh.headings.len()
                ));
                return false;
            }
            (None, None) => unreachable!(),
        }
    }
    true
}

fn compare_blocks(en: &Doc, zh: &Doc, problems: &mut Vec<String>) {
    for (i, e, z) in pair(en, zh, &en.blocks, &zh.blocks, "code block", problems) {
        if e.lines == z.lines {
            continue;
        }
        let at = e
            .lines
            .iter()
            .zip(&z.lines)
            .position(|(a, b)| a != b)
            .unwrap_or(e.lines.len().min(z.lines.len()));
        let show = |lines: &[String]| match lines.get(at) {
            Some(line) => format!("{line:?}"),
            None => "the end of the block".to_owned(),
        };
        problems.push(format!(
            "code block {} differs (under \"{}\", {ENGLISH} line {}, {CHINESE} line {}): its line {}: {ENGLISH} has {}, {CHINESE} has {} (copy the block from {ENGLISH} as it is)",
            i + 1,
            en.section_at(e.line),
            e.line,
            z.line,
            at + 1,
            show(&e.lines),
            show(&z.lines)
        ));
    }
}

fn compare_tables(en: &Doc, zh: &Doc, problems: &mut Vec<String>) {
    for (i, e, z) in pair(en, zh, &en.tables, &zh.tables, "table", problems) {
        let name = format!(
            "table {} (under \"{}\", {ENGLISH} line {}, {CHINESE} line {})",
            i + 1,
            en.section_at(e.line),
            e.line,
            z.line
        );
        if e.rows.len() != z.rows.len() {
            problems.push(format!(
                "{name}: {ENGLISH} has {} rows, {CHINESE} has {}",
                e.rows.len(),
                z.rows.len()
            ));
        }
        for (r, (e_row, z_row)) in e.rows.iter().zip(&z.rows).enumerate() {
            let (e_cell, z_cell) = (first_cell(e_row), first_cell(z_row));
            let row = format!("{name}, row {}", r + 1);
            if is_code(e_cell) {
                if e_cell != z_cell {
                    problems.push(format!(
                        "{row}: the first cell is code and stays as it is: {ENGLISH} has \"{e_cell}\", {CHINESE} has \"{z_cell}\""
                    ));
                }
            } else {
                let (mut e_code, mut z_code) = (code_spans(e_cell), code_spans(z_cell));
                e_code.sort_unstable();
                z_code.sort_unstable();
                if e_code != z_code {
                    problems.push(format!(
                        "{row}: the first cell's code differs: {ENGLISH} has \"{e_cell}\" ({}), {CHINESE} has \"{z_cell}\" ({})",
                        e_code.join(" "),
                        z_code.join(" ")
                    ));
                }
            }
        }
    }
}

/// Something found at a line: a code block or a table.
trait Located {
    fn line(&self) -> usize;
}

impl Located for Block {
    fn line(&self) -> usize {
        self.line
    }
}

impl Located for Table {
    fn line(&self) -> usize {
        self.line
    }
}

/// Pairs the English items (code blocks or tables) with the Chinese ones by
/// where they stand: the n-th of its section (the sections are numbered by
/// their headings, which the headings check holds in step). A missing or
/// extra item is reported, and does not shift the pairs after it. Returns
/// each pair with the English item's number in the whole README.
fn pair<'a, T: Located>(
    en: &Doc,
    zh: &Doc,
    en_items: &'a [T],
    zh_items: &'a [T],
    what: &str,
    problems: &mut Vec<String>,
) -> Vec<(usize, &'a T, &'a T)> {
    let en_keys = keys(en, en_items);
    let zh_keys = keys(zh, zh_items);
    let mut pairs = Vec::new();
    for (i, (item, key)) in en_items.iter().zip(&en_keys).enumerate() {
        match zh_keys.iter().position(|k| k == key) {
            Some(j) => pairs.push((i, item, &zh_items[j])),
            None => problems.push(format!(
                "{what} {} (under \"{}\", {ENGLISH} line {}) is missing: {CHINESE} has {} {what}(s) in that section (section {}), {ENGLISH} has {}",
                i + 1,
                en.section_at(item.line()),
                item.line(),
                zh_keys.iter().filter(|k| k.0 == key.0).count(),
                key.0,
                en_keys.iter().filter(|k| k.0 == key.0).count()
            )),
        }
    }
    for (item, key) in zh_items.iter().zip(&zh_keys) {
        if !en_keys.contains(key) {
            problems.push(format!(
                "{CHINESE} has an extra {what} at its line {} (under \"{}\", which is \"{}\" in {ENGLISH}): {ENGLISH} has {} {what}(s) in that section (section {}), {CHINESE} has {}",
                item.line(),
                zh.section_at(item.line()),
                en.heading(key.0),
                en_keys.iter().filter(|k| k.0 == key.0).count(),
                key.0,
                zh_keys.iter().filter(|k| k.0 == key.0).count()
            ));
        }
    }
    pairs
}

/// (section number, place among the section's items) of each item; section
/// 0 is what comes before the first heading.
fn keys<T: Located>(doc: &Doc, items: &[T]) -> Vec<(usize, usize)> {
    let mut keys: Vec<(usize, usize)> = Vec::new();
    for item in items {
        let section = doc.headings.iter().filter(|h| h.line < item.line()).count();
        let place = keys.iter().filter(|k| k.0 == section).count();
        keys.push((section, place));
    }
    keys
}

struct Heading {
    level: usize,
    text: String,
    line: usize,
}

struct Block {
    /// Every line from the opening fence to the closing one, as written.
    lines: Vec<String>,
    line: usize,
}

struct Table {
    rows: Vec<String>,
    line: usize,
}

struct Doc {
    text: String,
    headings: Vec<Heading>,
    blocks: Vec<Block>,
    tables: Vec<Table>,
}

impl Doc {
    fn parse(text: &str) -> Doc {
        let mut doc = Doc {
            text: text.to_owned(),
            headings: Vec::new(),
            blocks: Vec::new(),
            tables: Vec::new(),
        };
        let mut block: Option<Block> = None;
        let mut in_table = false;
        for (i, raw) in text.lines().enumerate() {
            let number = i + 1;
            let trimmed = raw.trim_start();
            if let Some(open) = block.as_mut() {
                open.lines.push(raw.to_owned());
                if trimmed.starts_with("```") {
                    doc.blocks.extend(block.take());
                }
                continue;
            }
            if trimmed.starts_with("```") {
                block = Some(Block {
                    lines: vec![raw.to_owned()],
                    line: number,
                });
                in_table = false;
                continue;
            }
            if trimmed.starts_with('|') {
                if !in_table {
                    doc.tables.push(Table {
                        rows: Vec::new(),
                        line: number,
                    });
                    in_table = true;
                }
                doc.tables.last_mut().unwrap().rows.push(raw.to_owned());
                continue;
            }
            in_table = false;
            let level = raw.chars().take_while(|&c| c == '#').count();
            if level > 0 && raw[level..].starts_with(' ') {
                doc.headings.push(Heading {
                    level,
                    text: raw.to_owned(),
                    line: number,
                });
            }
        }
        if let Some(open) = block {
            panic!("a code block opened at line {} is never closed", open.line);
        }
        doc
    }

    /// Heading number `n` (from 1), as written.
    fn heading(&self, n: usize) -> &str {
        n.checked_sub(1)
            .and_then(|i| self.headings.get(i))
            .map_or("the top", |h| h.text.as_str())
    }

    /// The last heading before `line`, for naming where a block or table is.
    fn section_at(&self, line: usize) -> &str {
        self.headings
            .iter()
            .rev()
            .find(|h| h.line < line)
            .map_or("the top", |h| h.text.as_str())
    }
}

/// The first cell of a table row: up to the first `|` that is not escaped.
fn first_cell(row: &str) -> &str {
    let rest = row.trim_start().strip_prefix('|').unwrap_or(row);
    let bytes = rest.as_bytes();
    let end = (0..bytes.len())
        .find(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
        .unwrap_or(rest.len());
    rest[..end].trim()
}

/// A cell that is wholly code: one code span, nothing around it.
fn is_code(cell: &str) -> bool {
    cell.len() > 1
        && cell.starts_with('`')
        && cell.ends_with('`')
        && code_spans(cell).concat().len() + 2 == cell.len()
}

/// The `code spans` of a cell, without their backticks.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

#[test]
fn the_parser_reads_what_it_compares() {
    let doc = Doc::parse(
        "# A\n\n| a | b |\n|---|---|\n| `x \\| y` | z |\n\n## B\n```bash\n# not a heading\n| not a table\n```\n  ```text\n  x\n  ```\n",
    );
    let levels: Vec<usize> = doc.headings.iter().map(|h| h.level).collect();
    assert_eq!(levels, [1, 2]);
    assert_eq!(doc.blocks.len(), 2);
    assert_eq!(doc.blocks[0].lines.len(), 4);
    assert_eq!(doc.blocks[1].lines, ["  ```text", "  x", "  ```"]);
    assert_eq!(doc.tables.len(), 1);
    assert_eq!(doc.tables[0].rows.len(), 3);
    assert_eq!(first_cell(&doc.tables[0].rows[2]), "`x \\| y`");
    assert!(is_code("`x \\| y`"));
    assert!(!is_code("`https://` to a plain collector"));
    assert!(!is_code("`a` and `b`"));
    assert_eq!(code_spans("`a` then `b c`"), ["a", "b c"]);
    assert_eq!(doc.section_at(9), "## B");
}
