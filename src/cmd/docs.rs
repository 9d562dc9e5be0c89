//! Argument syntax of commands, parsed into the argument trees that
//! COMMAND DOCS returns (so `redis-cli` can show hints for every command,
//! VexLake's own included).
//!
//! Grammar of a syntax line:
//! ```text
//! line  := alts
//! alts  := seq ('|' seq)*
//! seq   := item*
//! item  := '[' alts ']'            optional
//!        | '(' alts ')'            group
//!        | TOKEN [word]            uppercase token, with a value when a word follows
//!        | word[:type]             argument; type defaults to key for `key`, else string
//!   any item may end with '...'    repeated
//! ```

/// One argument of a command, as COMMAND DOCS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// Argument name (lowercase).
    pub name: String,
    /// `key`, `string`, `integer`, `double`, `pattern`, `unix-time`,
    /// `pure-token`, `oneof` or `block`.
    pub kind: String,
    /// The literal word that introduces the argument.
    pub token: Option<String>,
    /// May be left out.
    pub optional: bool,
    /// May be repeated.
    pub multiple: bool,
    /// Members of a `oneof` or `block`.
    pub children: Vec<Arg>,
}

/// Parses a syntax line into its top-level arguments.
pub fn parse_syntax(syntax: &str) -> Vec<Arg> {
    let tokens = tokenize(syntax);
    let mut pos = 0;
    let alts = parse_alts(&tokens, &mut pos);
    match alts.len() {
        0 => Vec::new(),
        1 => alts.into_iter().next().unwrap_or_default(),
        _ => vec![oneof(alts)],
    }
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '[' | ']' | '(' | ')' | '|' => {
                flush(&mut cur, &mut out);
                out.push(c.to_string());
            }
            c if c.is_whitespace() => flush(&mut cur, &mut out),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if cur.is_empty() {
        return;
    }
    if let Some(base) = cur.strip_suffix("...") {
        if !base.is_empty() {
            out.push(base.to_string());
        }
        out.push("...".to_string());
    } else {
        out.push(cur.clone());
    }
    cur.clear();
}

fn is_token(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && !w.chars().any(|c| c.is_ascii_lowercase())
}

fn is_word(w: &str) -> bool {
    !matches!(w, "[" | "]" | "(" | ")" | "|" | "...") && !is_token(w)
}

fn parse_alts(t: &[String], pos: &mut usize) -> Vec<Vec<Arg>> {
    let mut alts = vec![parse_seq(t, pos)];
    while *pos < t.len() && t[*pos] == "|" {
        *pos += 1;
        alts.push(parse_seq(t, pos));
    }
    alts.retain(|a| !a.is_empty());
    alts
}

fn parse_seq(t: &[String], pos: &mut usize) -> Vec<Arg> {
    let mut items = Vec::new();
    while *pos < t.len() {
        let w = t[*pos].as_str();
        let mut item = match w {
            "]" | ")" | "|" => break,
            "[" | "(" => {
                *pos += 1;
                let alts = parse_alts(t, pos);
                *pos += 1; // closing bracket
                let mut a = group(alts);
                a.optional |= w == "[";
                a
            }
            "..." => {
                *pos += 1;
                continue;
            }
            _ if is_token(w) => {
                *pos += 1;
                if *pos < t.len() && is_word(&t[*pos]) {
                    let mut a = word(&t[*pos]);
                    *pos += 1;
                    a.token = Some(w.to_string());
                    a
                } else {
                    Arg {
                        name: w.to_ascii_lowercase(),
                        kind: "pure-token".into(),
                        token: Some(w.to_string()),
                        ..Arg::default()
                    }
                }
            }
            _ => {
                *pos += 1;
                word(w)
            }
        };
        if *pos < t.len() && t[*pos] == "..." {
            item.multiple = true;
            *pos += 1;
        }
        items.push(item);
    }
    items
}

fn word(w: &str) -> Arg {
    let (name, kind) = match w.split_once(':') {
        Some((n, k)) => (n, k),
        None if w == "key" => (w, "key"),
        None => (w, "string"),
    };
    Arg {
        name: name.to_string(),
        kind: kind.to_string(),
        ..Arg::default()
    }
}

fn group(alts: Vec<Vec<Arg>>) -> Arg {
    if alts.len() > 1 {
        return oneof(alts);
    }
    let seq = alts.into_iter().next().unwrap_or_default();
    if seq.len() == 1 {
        return seq.into_iter().next().unwrap_or_default();
    }
    block(seq)
}

fn block(seq: Vec<Arg>) -> Arg {
    let name = seq
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join("-");
    Arg {
        name,
        kind: "block".into(),
        children: seq,
        ..Arg::default()
    }
}

fn oneof(alts: Vec<Vec<Arg>>) -> Arg {
    let children: Vec<Arg> = alts
        .into_iter()
        .map(|seq| {
            if seq.len() == 1 {
                seq.into_iter().next().unwrap_or_default()
            } else {
                block(seq)
            }
        })
        .collect();
    let name = children
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join("-");
    Arg {
        name,
        kind: "oneof".into(),
        children,
        ..Arg::default()
    }
}

impl Default for Arg {
    fn default() -> Self {
        Arg {
            name: String::new(),
            kind: "string".into(),
            token: None,
            optional: false,
            multiple: false,
            children: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_syntax() {
        let args = parse_syntax("key value [NX | XX] [GET] [EX seconds:integer | KEEPTTL]");
        assert_eq!(args.len(), 5);
        assert_eq!(
            (args[0].name.as_str(), args[0].kind.as_str()),
            ("key", "key")
        );
        assert_eq!(args[2].kind, "oneof");
        assert!(args[2].optional);
        assert_eq!(args[2].children[1].token.as_deref(), Some("XX"));
        assert_eq!(args[3].kind, "pure-token");
        let ex = &args[4].children[0];
        assert_eq!(
            (ex.name.as_str(), ex.kind.as_str(), ex.token.as_deref()),
            ("seconds", "integer", Some("EX"))
        );
    }

    #[test]
    fn repetition_and_blocks() {
        let args = parse_syntax("(key value)...");
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].kind, "block");
        assert!(args[0].multiple);
        let args = parse_syntax("key...");
        assert!(args[0].multiple);
        let args = parse_syntax("[protover:integer [AUTH username password] [SETNAME clientname]]");
        assert_eq!(args.len(), 1);
        assert_eq!(args[0].kind, "block");
        assert_eq!(args[0].children[1].kind, "block");
        assert_eq!(
            args[0].children[1].children[0].token.as_deref(),
            Some("AUTH")
        );
        assert!(parse_syntax("").is_empty());
    }
}
