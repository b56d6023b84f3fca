//! The bounds a condition's shape must keep, so that parsing and evaluating it cannot
//! overflow a stack or run for hours: how deep it nests, and no comprehension inside
//! another.
//!
//! The CEL parser and evaluator recurse once per level of the expression. A condition is
//! set by a tenant's own token and evaluated on every call, on server threads with ordinary
//! stacks, so its depth is bounded before the parser sees it (brackets, unary operators,
//! `?:`) and again on the parsed tree (a chain of `+` is as deep as it is long). A
//! comprehension (`all`, `exists`, `exists_one`, `map`, `filter`) costs the length of its
//! list; one inside another costs the product, which a 1 KiB condition can make hours.

use cel::common::ast::{EntryExpr, Expr};

/// How deep a condition may nest: far more than any policy needs, far less than a stack
/// holds.
pub const MAX_DEPTH: usize = 32;

/// Refuses text whose brackets, unary operators or `?:` nest deeper than [`MAX_DEPTH`],
/// outside string literals.
pub(super) fn lexical(expression: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut ternaries = 0usize;
    let mut unary_run = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expression.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '?' => ternaries += 1,
            _ => {}
        }
        match c {
            '!' | '-' => unary_run += 1,
            c if c.is_whitespace() => {}
            _ => unary_run = 0,
        }
        deepest = deepest.max(depth + unary_run).max(ternaries);
    }
    if deepest > MAX_DEPTH {
        return Err(format!(
            "the expression nests {deepest} levels deep (brackets, `!`, `-`, `?:`); at most \
             {MAX_DEPTH}"
        ));
    }
    Ok(())
}

/// Refuses a parsed condition deeper than [`MAX_DEPTH`], or with a comprehension inside
/// another. Walks the tree with its own stack: it cannot overflow either.
pub(super) fn tree(root: &cel::common::ast::IdedExpr) -> Result<(), String> {
    // (node, depth, comprehensions around it)
    let mut stack = vec![(root, 1usize, 0usize)];
    while let Some((node, depth, around)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(format!(
                "the expression nests more than {MAX_DEPTH} levels deep (a long chain of \
                 operators counts one level each)"
            ));
        }
        let next = depth + 1;
        match &node.expr {
            Expr::Call(call) => {
                stack.extend(call.target.iter().map(|t| (&**t, next, around)));
                stack.extend(call.args.iter().map(|a| (a, next, around)));
            }
            Expr::Comprehension(c) => {
                if around > 0 {
                    return Err(
                        "a comprehension (`all`, `exists`, `exists_one`, `map`, `filter`) \
                         inside another is not allowed: its cost is the product of their lists"
                            .to_owned(),
                    );
                }
                stack.push((&c.iter_range, next, around));
                stack.push((&c.accu_init, next, around));
                for inner in [&c.loop_cond, &c.loop_step, &c.result] {
                    stack.push((inner, next, around + 1));
                }
            }
            Expr::List(list) => stack.extend(list.elements.iter().map(|e| (e, next, around))),
            Expr::Map(map) => push_entries(&mut stack, &map.entries, next, around),
            Expr::Struct(s) => push_entries(&mut stack, &s.entries, next, around),
            Expr::Select(select) => stack.push((&select.operand, next, around)),
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    Ok(())
}

fn push_entries<'a>(
    stack: &mut Vec<(&'a cel::common::ast::IdedExpr, usize, usize)>,
    entries: &'a [cel::common::ast::IdedEntryExpr],
    depth: usize,
    around: usize,
) {
    for entry in entries {
        match &entry.expr {
            EntryExpr::StructField(f) => stack.push((&f.value, depth, around)),
            EntryExpr::MapEntry(m) => {
                stack.push((&m.key, depth, around));
                stack.push((&m.value, depth, around));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::eval::compile;

    #[test]
    fn ordinary_conditions_pass() {
        for ok in [
            "principal.startsWith('user:') && request.time < timestamp('2027-01-01T00:00:00Z')",
            "[1, 2, 3].all(x, x > 0)",
            "!(principal == 'user:a@b.c') || (1 + 2) * 3 == 9",
            "'(((((((((((((((((((((((((((((((((((((((' == principal",
        ] {
            assert!(compile(ok).is_ok(), "{ok}: {:?}", compile(ok).err());
        }
    }

    #[test]
    fn deep_or_costly_conditions_are_refused_before_they_run() {
        let chain = vec!["1"; 500].join(" + ") + " > 0";
        let list = format!(
            "[{}]",
            (0..100)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        for (bad, says) in [
            (
                format!("{}{} == []", "[".repeat(60), "]".repeat(60)),
                "nests 60 levels",
            ),
            (
                format!("{}true{}", "(".repeat(60), ")".repeat(60)),
                "nests 60 levels",
            ),
            (format!("{}true", "!".repeat(60)), "nests 60 levels"),
            (chain, "long chain"),
            (
                format!("{list}.all(x, {list}.all(y, true))"),
                "comprehension",
            ),
        ] {
            let e = compile(&bad).err().unwrap_or_default();
            assert!(e.contains(says), "{bad:.40}: {e}");
        }
    }
}
