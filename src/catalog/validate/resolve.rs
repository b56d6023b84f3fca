//! The rules about an action's automatic resolution: its status tool is a tool of the same
//! pack that only reports (not a built-in, not an action that resolves itself, not the action
//! itself), it is polled at a positive interval, and its deadline leaves room for a poll.

use super::Validator;
use crate::catalog::{Action, Handler, Pack};
use crate::diagnostics::{Code, backticked, did_you_mean};
use crate::spans::DocPath;

impl Validator<'_> {
    pub(super) fn resolve(&mut self, file: usize, at: &DocPath, action: &Action, pack: &Pack) {
        let Some(resolve) = &action.resolve else {
            return;
        };
        let at = at.key("resolve");
        let name = resolve.status_tool.as_str();
        match pack.tools.iter().find(|t| t.name.as_str() == name) {
            None => {
                let tools = || pack.tools.iter().map(|t| t.name.as_str());
                let help = did_you_mean(name, tools()).unwrap_or_else(|| {
                    format!("pack `{}` has {}", pack.pack_id, backticked(tools()))
                });
                let d = self.report(
                    file,
                    at.key("status_tool"),
                    Code::UnknownStatusTool,
                    format!(
                        "action `{}` is resolved by polling `{name}`, which is not a tool of \
                         pack `{}`",
                        action.id, pack.pack_id
                    ),
                );
                d.label = Some("unknown status tool".into());
                d.help = Some(help);
            }
            Some(status) => {
                let problem = if status.action == action.id {
                    Some("it performs the action it is to report on".to_owned())
                } else if matches!(status.handler, Handler::Builtin(_)) {
                    Some("a built-in reads the tenant's receipts, not an action's progress".into())
                } else if pack
                    .action(&status.action)
                    .is_some_and(|a| a.resolve.is_some())
                {
                    Some(format!(
                        "its action `{}` resolves itself: a status tool only reports",
                        status.action
                    ))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    let d = self.report(
                        file,
                        at.key("status_tool"),
                        Code::InvalidResolve,
                        format!(
                            "`{name}` cannot report on action `{}`: {problem}",
                            action.id
                        ),
                    );
                    d.help = Some("poll a read-only tool that reports the action's status".into());
                }
            }
        }
        if resolve.every_ms == 0 {
            let d = self.report(
                file,
                at.key("every_ms"),
                Code::InvalidResolve,
                "`every_ms` is 0: the status tool would be polled without pause".into(),
            );
            d.help = Some("poll every few seconds at least, e.g. `every_ms: 30000`".into());
        }
        if resolve.deadline_ms <= resolve.every_ms {
            let d = self.report(
                file,
                at.key("deadline_ms"),
                Code::InvalidResolve,
                format!(
                    "`deadline_ms` {} is not longer than `every_ms` {}: the action would fail \
                     before its first poll",
                    resolve.deadline_ms, resolve.every_ms
                ),
            );
            d.help = Some("give the action time to finish: a deadline of several polls".into());
        }
        // The declared bound (the default one belongs to execution, which the catalog does
        // not know about).
        let bound = [&action.compute_limits, &pack.compute_limits]
            .into_iter()
            .find_map(|l| l.as_ref().and_then(|l| l.timeout_ms));
        if let Some(bound) = bound
            && resolve.deadline_ms <= bound
        {
            let d = self.report(
                file,
                at.key("deadline_ms"),
                Code::InvalidResolve,
                format!(
                    "`deadline_ms` {} is not longer than the action's timeout {bound} ms: an \
                     overrun would be failed at once",
                    resolve.deadline_ms
                ),
            );
            d.help = Some("a deadline is how long an overrun may take: make it longer".into());
        }
        if resolve.done_when.is_empty() {
            let d = self.report(
                file,
                at.key("done_when"),
                Code::InvalidResolve,
                "`done_when` is empty: no status would ever complete the action".into(),
            );
            d.help = Some("name the result fields that mean done, e.g. `{ status: done }`".into());
        }
    }
}
