//! FILTER expressions over an element's JSON attributes, as in Redis:
//! `.year > 1950 and .genre in ["action", "drama"]`.
//!
//! Grammar, lowest precedence first (JavaScript-like):
//! ```text
//! or      := and (("or" | "||") and)*
//! and     := eq (("and" | "&&") eq)*
//! eq      := rel (("==" | "!=") rel)*
//! rel     := add (("<" | "<=" | ">" | ">=" | "in") add)*
//! add     := mul (("+" | "-") mul)*
//! mul     := pow (("*" | "/" | "%") pow)*
//! pow     := unary ("**" pow)?                    right associative
//! unary   := ("!" | "not" | "-") unary | primary
//! primary := number | 'string' | "string" | .field | [list] | (or)
//!          | true | false | null
//! ```
//! Values are numbers (f64), strings, arrays and null; booleans are 1 and 0.
//! A missing field, attributes that are not a JSON object, a field of an
//! unsupported type (object, null, array with objects) or an operation on
//! unsuitable types makes the element "not matching" — never an error.
//! `a in [..]` tests membership; `"foo" in "barfoo"` tests substrings.

use serde_json::Value as Json;

/// A compiled FILTER expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: Expr,
}

/// A syntax error; `pos` is the byte offset where parsing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset of the offending token.
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Str(String),
    Null,
    Field(String),
    List(Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Field(String),
    Word(String),
    Sym(&'static str),
}

const SYMBOLS: &[&str] = &[
    "**", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")",
    "[", "]", ",",
];

fn tokenize(s: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()) {
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || b[i] == b'.'
                    || b[i] == b'e'
                    || b[i] == b'E'
                    || ((b[i] == b'-' || b[i] == b'+') && (b[i - 1] == b'e' || b[i - 1] == b'E')))
            {
                i += 1;
            }
            let v: f64 = s[start..i]
                .parse()
                .map_err(|_| FilterError { pos: start })?;
            out.push((start, Tok::Num(v)));
        } else if c == b'.' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if i == start + 1 {
                return Err(FilterError { pos: start });
            }
            out.push((start, Tok::Field(s[start + 1..i].to_string())));
        } else if c == b'"' || c == b'\'' {
            i += 1;
            let mut text = Vec::new();
            loop {
                if i >= b.len() {
                    return Err(FilterError { pos: start });
                }
                if b[i] == b'\\' && i + 1 < b.len() {
                    i = unescape(s, i + 1, &mut text).ok_or(FilterError { pos: i })?;
                } else if b[i] == c {
                    i += 1;
                    break;
                } else {
                    text.push(b[i]);
                    i += 1;
                }
            }
            out.push((start, Tok::Str(String::from_utf8_lossy(&text).into_owned())));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((start, Tok::Word(s[start..i].to_ascii_lowercase())));
        } else if let Some(sym) = SYMBOLS.iter().find(|sym| s[i..].starts_with(**sym)) {
            i += sym.len();
            out.push((start, Tok::Sym(sym)));
        } else {
            return Err(FilterError { pos: start });
        }
    }
    Ok(out)
}

/// Appends the character escaped at `s[i..]` (after a backslash) to `out`
/// and returns the offset after it: JSON's escapes (`\"`, `\\`, `\/`, `\b`,
/// `\f`, `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs), `\'`, and any
/// other character standing for itself. None for a bad `\u`.
fn unescape(s: &str, i: usize, out: &mut Vec<u8>) -> Option<usize> {
    let b = s.as_bytes();
    let simple = match b[i] {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'u' => {
            let hex = |at: usize| {
                s.get(at..at + 4)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
            };
            let hi = hex(i + 1)?;
            let (code, next) = if (0xD800..0xDC00).contains(&hi) && s[i + 5..].starts_with("\\u") {
                let lo = hex(i + 7).filter(|lo| (0xDC00..0xE000).contains(lo))?;
                (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), i + 11)
            } else {
                (hi, i + 5)
            };
            let c = char::from_u32(code)?;
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            return Some(next);
        }
        _ => {
            // Any other character (a quote, a backslash, a multi-byte
            // UTF-8 character) stands for itself.
            let c = s[i..].chars().next()?;
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            return Some(i + c.len_utf8());
        }
    };
    out.push(simple);
    Some(i + 1)
}

/// Most tokens in one expression and deepest nesting: the parser and the
/// evaluator recurse, so both are bounded to keep the stack safe whatever a
/// client sends.
const MAX_TOKENS: usize = 1024;
const MAX_DEPTH: usize = 128;

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(p, _)| *p)
    }

    fn err<T>(&self) -> Result<T, FilterError> {
        Err(FilterError { pos: self.here() })
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(x)) if x == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn binary(
        &mut self,
        next: fn(&mut Parser) -> Result<Expr, FilterError>,
        ops: &[(&str, Op)],
    ) -> Result<Expr, FilterError> {
        let mut left = next(self)?;
        'outer: loop {
            for &(sym, op) in ops {
                let matched = if sym.chars().all(|c| c.is_ascii_alphabetic()) {
                    self.eat_word(sym)
                } else {
                    self.eat_sym(sym)
                };
                if matched {
                    let right = next(self)?;
                    left = Expr::Bin(op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        self.binary(Parser::and, &[("or", Op::Or), ("||", Op::Or)])
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        self.binary(Parser::eq, &[("and", Op::And), ("&&", Op::And)])
    }

    fn eq(&mut self) -> Result<Expr, FilterError> {
        self.binary(Parser::rel, &[("==", Op::Eq), ("!=", Op::Ne)])
    }

    fn rel(&mut self) -> Result<Expr, FilterError> {
        self.binary(
            Parser::add,
            &[
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
                ("in", Op::In),
            ],
        )
    }

    fn add(&mut self) -> Result<Expr, FilterError> {
        self.binary(Parser::mul, &[("+", Op::Add), ("-", Op::Sub)])
    }

    fn mul(&mut self) -> Result<Expr, FilterError> {
        self.binary(
            Parser::pow,
            &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Mod)],
        )
    }

    fn pow(&mut self) -> Result<Expr, FilterError> {
        let base = self.unary()?;
        if self.eat_sym("**") {
            let exp = self.pow()?;
            return Ok(Expr::Bin(Op::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.depth >= MAX_DEPTH {
            return self.err();
        }
        self.depth += 1;
        let e = self.unary_inner();
        self.depth -= 1;
        e
    }

    fn unary_inner(&mut self) -> Result<Expr, FilterError> {
        if self.eat_sym("!") || self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(tok) = self.peek().cloned() else {
            return self.err();
        };
        match tok {
            Tok::Num(v) => {
                self.pos += 1;
                Ok(Expr::Num(v))
            }
            Tok::Str(s) => {
                self.pos += 1;
                Ok(Expr::Str(s))
            }
            Tok::Field(f) => {
                self.pos += 1;
                Ok(Expr::Field(f))
            }
            Tok::Word(w) => {
                let e = match w.as_str() {
                    "true" => Expr::Num(1.0),
                    "false" => Expr::Num(0.0),
                    "null" => Expr::Null,
                    _ => return self.err(),
                };
                self.pos += 1;
                Ok(e)
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let e = self.or()?;
                if !self.eat_sym(")") {
                    return self.err();
                }
                Ok(e)
            }
            Tok::Sym("[") => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat_sym("]") {
                    return Ok(Expr::List(items));
                }
                loop {
                    items.push(self.or()?);
                    if self.eat_sym("]") {
                        return Ok(Expr::List(items));
                    }
                    if !self.eat_sym(",") {
                        return self.err();
                    }
                }
            }
            Tok::Sym(_) => self.err(),
        }
    }
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Num(f64),
    Str(String),
    Arr(Vec<Val>),
    Null,
}

/// The element does not match (missing field, wrong types...).
struct NoMatch;

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Num(n) => *n != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Arr(a) => !a.is_empty(),
            Val::Null => false,
        }
    }

    fn num(&self) -> Result<f64, NoMatch> {
        match self {
            Val::Num(n) => Ok(*n),
            Val::Str(s) => s.trim().parse().map_err(|_| NoMatch),
            _ => Err(NoMatch),
        }
    }

    fn from_json(j: &Json) -> Result<Val, NoMatch> {
        Ok(match j {
            Json::Number(n) => Val::Num(n.as_f64().ok_or(NoMatch)?),
            Json::String(s) => Val::Str(s.clone()),
            Json::Bool(b) => Val::Num(f64::from(u8::from(*b))),
            Json::Array(items) => Val::Arr(
                items
                    .iter()
                    .map(|i| match i {
                        Json::Number(_) | Json::String(_) | Json::Bool(_) => Val::from_json(i),
                        _ => Err(NoMatch),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(NoMatch),
        })
    }
}

fn loose_eq(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Num(x), Val::Str(s)) | (Val::Str(s), Val::Num(x)) => {
            s.trim().parse::<f64>().is_ok_and(|y| y == *x)
        }
        (Val::Null, Val::Null) => true,
        (Val::Arr(x), Val::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loose_eq(p, q))
        }
        _ => false,
    }
}

impl Filter {
    /// Compiles an expression.
    pub fn compile(text: &str) -> Result<Filter, FilterError> {
        let toks = tokenize(text)?;
        if let Some(&(pos, _)) = toks.get(MAX_TOKENS) {
            return Err(FilterError { pos });
        }
        let mut p = Parser {
            toks,
            pos: 0,
            end: text.len(),
            depth: 0,
        };
        let root = p.or()?;
        if p.pos != p.toks.len() {
            return p.err();
        }
        Ok(Filter { root })
    }

    /// Whether an element with these attributes (raw JSON) matches.
    pub fn matches(&self, attributes: &[u8]) -> bool {
        let Ok(Json::Object(obj)) = serde_json::from_slice::<Json>(attributes) else {
            return false;
        };
        eval(&self.root, &obj).is_ok_and(|v| v.truthy())
    }
}

fn eval(e: &Expr, obj: &serde_json::Map<String, Json>) -> Result<Val, NoMatch> {
    Ok(match e {
        Expr::Num(n) => Val::Num(*n),
        Expr::Str(s) => Val::Str(s.clone()),
        Expr::Null => Val::Null,
        Expr::Field(f) => Val::from_json(obj.get(f).ok_or(NoMatch)?)?,
        Expr::List(items) => Val::Arr(
            items
                .iter()
                .map(|i| eval(i, obj))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(x) => Val::Num(f64::from(u8::from(!eval(x, obj)?.truthy()))),
        Expr::Neg(x) => Val::Num(-eval(x, obj)?.num()?),
        Expr::Bin(Op::And, a, b) => {
            let ok = eval(a, obj)?.truthy() && eval(b, obj)?.truthy();
            Val::Num(f64::from(u8::from(ok)))
        }
        Expr::Bin(Op::Or, a, b) => {
            // A failing left side does not stop the right one from matching.
            let left = eval(a, obj).map(|v| v.truthy()).unwrap_or(false);
            let ok = left || eval(b, obj)?.truthy();
            Val::Num(f64::from(u8::from(ok)))
        }
        Expr::Bin(op, a, b) => {
            let (x, y) = (eval(a, obj)?, eval(b, obj)?);
            let bool_val = |v: bool| Val::Num(f64::from(u8::from(v)));
            match op {
                Op::Eq => bool_val(loose_eq(&x, &y)),
                Op::Ne => bool_val(!loose_eq(&x, &y)),
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let ord = match (&x, &y) {
                        (Val::Str(p), Val::Str(q)) => p.cmp(q),
                        _ => x.num()?.partial_cmp(&y.num()?).ok_or(NoMatch)?,
                    };
                    bool_val(match op {
                        Op::Lt => ord.is_lt(),
                        Op::Le => ord.is_le(),
                        Op::Gt => ord.is_gt(),
                        _ => ord.is_ge(),
                    })
                }
                Op::In => match (&x, &y) {
                    // An array on the left (an array attribute): any of
                    // its elements in the list.
                    (Val::Arr(left), Val::Arr(items)) => {
                        bool_val(left.iter().any(|l| items.iter().any(|i| loose_eq(l, i))))
                    }
                    (_, Val::Arr(items)) => bool_val(items.iter().any(|i| loose_eq(&x, i))),
                    (Val::Str(needle), Val::Str(hay)) => bool_val(hay.contains(needle.as_str())),
                    _ => return Err(NoMatch),
                },
                Op::Add => Val::Num(x.num()? + y.num()?),
                Op::Sub => Val::Num(x.num()? - y.num()?),
                Op::Mul => Val::Num(x.num()? * y.num()?),
                Op::Div => Val::Num(x.num()? / y.num()?),
                Op::Mod => Val::Num(x.num()? % y.num()?),
                Op::Pow => Val::Num(x.num()?.powf(y.num()?)),
                Op::And | Op::Or => unreachable!("handled above"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(expr: &str, json: &str) -> bool {
        Filter::compile(expr).unwrap().matches(json.as_bytes())
    }

    #[test]
    fn comparisons_and_logic() {
        let j =
            r#"{"year": 1980, "genre": "action", "rating": 8.5, "tags": ["a", "b"], "ok": true}"#;
        assert!(m(".year >= 1980 and .year < 1990", j));
        assert!(m(".genre == \"action\" && .rating > 8.0", j));
        assert!(m(".genre in ['drama', 'action']", j));
        assert!(m("'act' in .genre", j));
        assert!(m("'a' in .tags", j));
        assert!(m("(.year - 2000) ** 2 < 1000 and .rating / 2 > 4", j));
        assert!(m(".ok", j));
        assert!(m("not .missing == 1 or .year == 1980", j));
        assert!(!m(".year > 1990 || .genre != 'action'", j));
        assert!(m("!(.year > 1990)", j));
        assert!(m(".year % 7 == 1980 % 7", j));
        assert!(m("-.year < 0", j));
        assert!(m("2 ** 3 ** 2 == 512", j));
    }

    #[test]
    fn missing_and_invalid_never_match() {
        assert!(!m(".missing > 1", r#"{"a": 1}"#));
        assert!(!m(".a > 1", "not json"));
        assert!(!m(".a > 1", "[1, 2]"));
        assert!(!m(".a == 1", r#"{"a": {"b": 1}}"#));
        assert!(!m(".a == 1", r#"{"a": null}"#));
        assert!(!m(".a + 1 > 0", r#"{"a": "text"}"#));
        assert!(!m(".a > 0", ""));
    }

    #[test]
    fn string_escapes_double_negation_and_arrays_in_lists() {
        let j = r#"{"q": "say \"hi\"\n", "p": "a\\b", "u": "caf\u00e9 \ud83d\ude00", "tags": ["x", "b"], "n": [1, 2]}"#;
        assert!(m(r#".q == "say \"hi\"\n""#, j));
        assert!(m(r#".q == 'say "hi"\n'"#, j));
        assert!(!m(r#".q == "say \"hi\"n""#, j));
        assert!(m(r#".p == "a\\b" and .p == 'a\\b'"#, j));
        assert!(m(
            r#".u == "caf\u00e9 \ud83d\ude00" and .u == "café 😀""#,
            j
        ));
        assert!(m(r#""\t" == "	" and "\/" == "/" and "\'" == "'""#, j));
        assert!(Filter::compile(r#".q == "\u12""#).is_err());
        assert!(Filter::compile(r#".q == "\ud83d\u0041""#).is_err());
        assert!(m("!!.q", j) && !m("!!.missing", j) && m("!!!(.n == 3)", j));
        assert!(m(".tags in ['a', 'b']", j));
        assert!(!m(".tags in ['a', 'c']", j));
        assert!(m(".n in [2, 5] and not (.n in [3])", j));
        assert!(!m(".tags in []", j));
    }

    #[test]
    fn hostile_expressions_are_refused_not_crashing() {
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(Filter::compile(&deep).is_err());
        assert!(Filter::compile(&"!".repeat(100_000)).is_err());
        assert!(Filter::compile(&vec!["1"; 50_000].join(" + ")).is_err());
        assert!(Filter::compile(&format!("{}1", "2 ** ".repeat(10_000))).is_err());
        let ok = format!("{}.a{} > 1", "(".repeat(50), ")".repeat(50));
        assert!(Filter::compile(&ok).unwrap().matches(br#"{"a": 2}"#));
    }

    #[test]
    fn syntax_errors_report_position() {
        for (expr, pos) in [
            (".a >", 4),
            (".a > > 1", 5),
            ("(.a > 1", 7),
            (".a @ 1", 3),
            ("", 0),
            (".a > 1 )", 7),
            ("'open", 0),
        ] {
            assert_eq!(Filter::compile(expr), Err(FilterError { pos }), "{expr}");
        }
    }
}
