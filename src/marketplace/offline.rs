//! Marketplace API answers kept in files: GCP Procurement API entitlement resources and AWS
//! GetEntitlements responses, read from one file or every `*.json` file of a directory.
//!
//! A file holds one answer as the API returns it: an entitlement resource
//! (`providers.entitlements.get`), a `providers.entitlements.list` response
//! (`{"entitlements": [...]}`) or a GetEntitlements response (`{"Entitlements": [...]}`).
//! The same GCP entitlement may be given several times, at different `updateTime`s: a
//! notification reads the one of its own `updateTime`, else the latest before it, else the
//! latest (what the live API would answer now).
//!
//! A GetEntitlements answer is per customer. Its records answer for the customers they name;
//! a customer with no record at all is named by the request's own fields beside the answer,
//! `ProductCode` and `Filter.CUSTOMER_IDENTIFIER`, as GetEntitlements is asked. A customer no
//! answer names is not known to have none: the lookup says the answer is missing, so a
//! contract is never ended for want of a file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{FieldError, ResourceError, Resources, aws, gcp};
use crate::clock::Timestamp;
use crate::intake::{self, Reading};

/// Why resource files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// A file or directory could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be read as text (not a regular file, too large, binary).
    #[error("{0}")]
    Read(String),
    /// A file is not JSON.
    #[error("`{path}` is not JSON: {reason}")]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
    /// A file is JSON but not one of the API answers tai reads.
    #[error(
        "`{path}` is neither a GCP entitlement resource (`name`, `account`, ...), a GCP list of entitlements (`entitlements`) nor an AWS GetEntitlements response (`Entitlements`)"
    )]
    NotAResource {
        /// The file.
        path: PathBuf,
    },
    /// An answer that breaks its API's shape.
    #[error("`{path}`: {error}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        error: FieldError,
    },
}

/// What a record file's refusals say about it.
const RECORDS: Reading = Reading {
    regular: "marketplace records are regular `.json` files (or a directory of them)",
    text: "marketplace records are JSON text in UTF-8",
    size: "a record file holds one API answer, a few kilobytes; split larger exports",
    missing: "check the path given to --resources or --marketplace-records",
};

/// Part of one customer's GetEntitlements answer: a record, or `None` for an answer that
/// names the customer and has no record for them; with the file it came from.
type AwsAnswer = (Option<aws::Entitlement>, String);

/// API answers read from files.
#[derive(Debug, Clone)]
pub struct Offline {
    /// GCP entitlements by id, each snapshot with the file it came from.
    gcp: HashMap<String, Vec<(gcp::Entitlement, String)>>,
    /// GetEntitlements answers by (product code, customer).
    aws: HashMap<(String, String), Vec<AwsAnswer>>,
    /// The command-line option that gives these records, named in what a lookup misses.
    option: &'static str,
}

impl Offline {
    /// No answers at all, as given with `option` (`--resources`): every lookup says what is
    /// missing and where to give it.
    pub fn empty(option: &'static str) -> Self {
        Offline {
            gcp: HashMap::new(),
            aws: HashMap::new(),
            option,
        }
    }

    /// Reads `path`, given with `option`: one answer file, or every `*.json` file of a
    /// directory (in name order).
    pub fn load(path: &Path, option: &'static str) -> Result<Self, OfflineError> {
        let io = |source| OfflineError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut files = Vec::new();
        if path.is_dir() {
            for entry in std::fs::read_dir(path).map_err(io)? {
                let p = entry.map_err(io)?.path();
                if p.extension().is_some_and(|e| e == "json") && p.is_file() {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut out = Offline::empty(option);
        for file in files {
            let text = intake::read_text(&file, &RECORDS)
                .map_err(|d| OfflineError::Read(d.to_string()))?;
            let value: Value = serde_json::from_str(&text).map_err(|e| OfflineError::NotJson {
                path: file.clone(),
                reason: e.to_string(),
            })?;
            out.add(&file, &value)?;
        }
        Ok(out)
    }

    /// Adds the answer in `value`, read from `file`.
    pub fn add(&mut self, file: &Path, value: &Value) -> Result<(), OfflineError> {
        let name = file.display().to_string();
        let malformed = |error| OfflineError::Malformed {
            path: file.to_path_buf(),
            error,
        };
        if value.get("Entitlements").is_some() {
            let answer = aws::Answer::from_response(value).map_err(malformed)?;
            let mut named: Vec<(String, String)> = Vec::new();
            for r in answer.records {
                let key = (r.product_code.clone(), r.customer.clone());
                named.push(key.clone());
                self.aws
                    .entry(key)
                    .or_default()
                    .push((Some(r), name.clone()));
            }
            if let Some(product) = &answer.product_code {
                for customer in answer.customers {
                    let key = (product.clone(), customer);
                    if !named.contains(&key) {
                        self.aws.entry(key).or_default().push((None, name.clone()));
                    }
                }
            }
            return Ok(());
        }
        let resources: Vec<&Value> = match value.get("entitlements") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(_) => {
                return Err(malformed(FieldError {
                    field: "entitlements".into(),
                    problem: super::Problem::WrongType {
                        expected: "an array",
                        found: "another value",
                    },
                }));
            }
            None if value.get("name").is_some() => vec![value],
            None => {
                return Err(OfflineError::NotAResource {
                    path: file.to_path_buf(),
                });
            }
        };
        for (i, raw) in resources.into_iter().enumerate() {
            let r = gcp::Entitlement::from_json(raw).map_err(|mut e| {
                if !std::ptr::eq(raw, value) {
                    e.field = format!("entitlements[{i}].{}", e.field);
                }
                malformed(e)
            })?;
            self.gcp
                .entry(r.id().to_owned())
                .or_default()
                .push((r, name.clone()));
        }
        Ok(())
    }
}

/// The snapshot to answer with: of exactly `updated`, else the latest before it, else the
/// latest. Two different snapshots of one time are ambiguous.
fn pick<'s>(
    id: &str,
    snapshots: &'s [(gcp::Entitlement, String)],
    updated: Option<Timestamp>,
) -> Result<&'s gcp::Entitlement, ResourceError> {
    let latest = |candidates: Vec<&'s (gcp::Entitlement, String)>| {
        let newest = candidates.iter().map(|(r, _)| r.update_time).max()?;
        Some(
            candidates
                .into_iter()
                .filter(|(r, _)| r.update_time == newest)
                .collect::<Vec<_>>(),
        )
    };
    let chosen = updated
        .and_then(|t| {
            latest(
                snapshots
                    .iter()
                    .filter(|(r, _)| r.update_time.is_some_and(|u| u <= t))
                    .collect(),
            )
        })
        .or_else(|| latest(snapshots.iter().collect()))
        .unwrap_or_default();
    let Some((first, first_file)) = chosen.first() else {
        return Err(ResourceError::NotFound {
            what: "GCP entitlement",
            id: id.to_owned(),
            hint: " among the records".to_owned(),
        });
    };
    if let Some((_, other_file)) = chosen.iter().find(|(r, _)| r != first) {
        return Err(ResourceError::Ambiguous {
            what: "GCP entitlement",
            id: id.to_owned(),
            first: first_file.clone(),
            second: other_file.clone(),
        });
    }
    Ok(first)
}

impl Resources for Offline {
    fn gcp_entitlement(
        &self,
        id: &str,
        updated: Option<Timestamp>,
    ) -> Result<gcp::Entitlement, ResourceError> {
        let not_found = || ResourceError::NotFound {
            what: "GCP entitlement",
            id: id.to_owned(),
            hint: format!(
                " among the records; give its Procurement API resource with {}",
                self.option
            ),
        };
        let snapshots = self.gcp.get(id).ok_or_else(not_found)?;
        pick(id, snapshots, updated).cloned()
    }

    fn aws_entitlements(
        &self,
        product_code: &str,
        customer: &str,
    ) -> Result<Vec<aws::Entitlement>, ResourceError> {
        let key = (product_code.to_owned(), customer.to_owned());
        let Some(answers) = self.aws.get(&key) else {
            return Err(ResourceError::NotFound {
                what: "AWS GetEntitlements answer for customer",
                id: customer.to_owned(),
                hint: format!(
                    " of product `{product_code}` among the records; give the customer's \
                     GetEntitlements response with {} (an answer with no record names the \
                     customer in `Filter.CUSTOMER_IDENTIFIER`, beside `ProductCode`)",
                    self.option
                ),
            });
        };
        // One GetEntitlements answer per customer: answers from two files would be two
        // different moments, and which one stands cannot be told.
        if let Some((_, other)) = answers.iter().find(|(_, f)| *f != answers[0].1) {
            return Err(ResourceError::Ambiguous {
                what: "AWS entitlements of customer",
                id: customer.to_owned(),
                first: answers[0].1.clone(),
                second: other.clone(),
            });
        }
        Ok(answers.iter().filter_map(|(r, _)| r.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(plan: &str, at: &str) -> Value {
        json!({
            "name": "providers/p/entitlements/e1",
            "account": "providers/p/accounts/a1",
            "plan": plan,
            "state": "ENTITLEMENT_ACTIVE",
            "updateTime": at
        })
    }

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn a_notification_reads_the_snapshot_of_its_time() {
        let mut o = Offline::empty("--resources");
        o.add(
            Path::new("a.json"),
            &snapshot("base", "2026-01-01T00:00:00Z"),
        )
        .unwrap();
        o.add(
            Path::new("b.json"),
            &json!({"entitlements": [snapshot("pro", "2026-02-01T00:00:00Z")]}),
        )
        .unwrap();
        let plan = |at: Option<&str>| o.gcp_entitlement("e1", at.map(t)).unwrap().plan.unwrap();
        assert_eq!(plan(Some("2026-01-01T00:00:00Z")), "base");
        assert_eq!(plan(Some("2026-01-15T00:00:00Z")), "base");
        assert_eq!(plan(Some("2026-03-01T00:00:00Z")), "pro");
        assert_eq!(
            plan(Some("2025-01-01T00:00:00Z")),
            "pro",
            "nothing earlier: the latest"
        );
        assert_eq!(plan(None), "pro");
        assert!(matches!(
            o.gcp_entitlement("e2", None),
            Err(ResourceError::NotFound { .. })
        ));
        o.add(
            Path::new("c.json"),
            &snapshot("max", "2026-02-01T00:00:00Z"),
        )
        .unwrap();
        let e = o.gcp_entitlement("e1", None).unwrap_err();
        assert!(
            e.to_string().contains("`b.json`") && e.to_string().contains("`c.json`"),
            "{e}"
        );
    }

    #[test]
    fn aws_answers_are_per_customer_and_must_not_disagree() {
        let mut o = Offline::empty("--resources");
        let answer = json!({"Entitlements": [
            {"ProductCode": "p", "CustomerIdentifier": "C1", "Dimension": "pro"},
            {"ProductCode": "p", "CustomerIdentifier": "C2", "Dimension": "base"}
        ]});
        o.add(Path::new("a.json"), &answer).unwrap();
        assert_eq!(o.aws_entitlements("p", "C1").unwrap().len(), 1);
        // A customer no answer names is not a customer without entitlements.
        let e = o.aws_entitlements("p", "C9").unwrap_err();
        assert!(matches!(e, ResourceError::NotFound { .. }), "{e}");
        assert!(e.to_string().contains("with --resources"), "{e}");
        let none = json!({"ProductCode": "p", "Filter": {"CUSTOMER_IDENTIFIER": ["C9", "C1"]},
                          "Entitlements": []});
        o.add(Path::new("none.json"), &none).unwrap();
        assert!(o.aws_entitlements("p", "C9").unwrap().is_empty());
        assert!(
            o.aws_entitlements("q", "C9").is_err(),
            "an answer is for its product"
        );
        assert!(matches!(
            o.aws_entitlements("p", "C1"),
            Err(ResourceError::Ambiguous { .. })
        ));
        o.add(Path::new("b.json"), &answer).unwrap();
        assert!(matches!(
            o.aws_entitlements("p", "C2"),
            Err(ResourceError::Ambiguous { .. })
        ));
    }

    #[test]
    fn files_that_are_not_answers_are_refused() {
        let mut o = Offline::empty("--resources");
        assert!(matches!(
            o.add(Path::new("x.json"), &json!({"hello": 1})),
            Err(OfflineError::NotAResource { .. })
        ));
        let e = o
            .add(
                Path::new("x.json"),
                &json!({"entitlements": [{"name": "providers/p/entitlements/e"}]}),
            )
            .unwrap_err();
        assert!(e.to_string().contains("entitlements[0].account"), "{e}");
    }
}
