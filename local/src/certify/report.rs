//! What a certification found, for a maker to read (text) and for a machine (JSON).

use std::fmt::Write;

use serde::Serialize;

use super::rules::Finding;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Where the test plans were read from.
    pub plans_from: String,
    pub endpoints: Vec<EndpointReport>,
    /// The Works-with-Alexa checks' findings, failures and warnings.
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointReport {
    pub endpoint_id: String,
    pub name: String,
    /// Where its commands go: `table`, `iot` or `https`.
    pub device_cloud: String,
    /// Why no case ran, if none could.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    pub cases: Vec<CaseResult>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    pub plan: String,
    pub case: String,
    pub outcome: Outcome,
    /// What the simulated IoT device was asked for, directive by directive (IoT devices only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub desired: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed(String),
    /// Not applicable to the endpoint: the reason.
    Skipped(String),
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub endpoints: usize,
    /// Endpoints at least one case ran against.
    pub endpoints_run: usize,
    pub cases_run: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub rule_failures: usize,
    pub warnings: usize,
    pub passed_all: bool,
}

impl Report {
    /// Counts what the endpoints and findings hold.
    pub fn summarize(&mut self) {
        let cases = self.endpoints.iter().flat_map(|e| &e.cases);
        let count = |f: fn(&Outcome) -> bool| cases.clone().filter(|c| f(&c.outcome)).count();
        let passed = count(|o| *o == Outcome::Passed);
        let failed = count(|o| matches!(o, Outcome::Failed(_)));
        let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
        let rule_failures = self.findings.iter().filter(|f| !f.warning).count();
        self.summary = Summary {
            endpoints: self.endpoints.len(),
            endpoints_run: self
                .endpoints
                .iter()
                .filter(|e| {
                    e.cases
                        .iter()
                        .any(|c| !matches!(c.outcome, Outcome::Skipped(_)))
                })
                .count(),
            cases_run: passed + failed,
            passed,
            failed,
            skipped,
            rule_failures,
            warnings: self.findings.len() - rule_failures,
            passed_all: failed == 0 && rule_failures == 0 && passed > 0,
        };
    }

    /// The report as a maker reads it: per endpoint and plan, how many cases passed, each
    /// failure with its reason, what did not apply; the Works-with-Alexa findings; a summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Certification: Amazon's capability-evaluation test plans (from {}) and the \
             Works-with-Alexa checks\n",
            self.plans_from
        );
        for endpoint in &self.endpoints {
            let _ = writeln!(
                out,
                "{} ({}, {}):",
                endpoint.endpoint_id, endpoint.name, endpoint.device_cloud
            );
            if let Some(why) = &endpoint.not_run {
                let _ = writeln!(out, "  not run: {why}");
                continue;
            }
            let mut plans: Vec<&str> = endpoint.cases.iter().map(|c| c.plan.as_str()).collect();
            plans.dedup();
            let mut any = false;
            for plan in plans {
                let of_plan: Vec<&CaseResult> =
                    endpoint.cases.iter().filter(|c| c.plan == plan).collect();
                let ran = of_plan
                    .iter()
                    .filter(|c| !matches!(c.outcome, Outcome::Skipped(_)))
                    .count();
                if ran == 0 {
                    continue;
                }
                any = true;
                let passed = of_plan
                    .iter()
                    .filter(|c| c.outcome == Outcome::Passed)
                    .count();
                let skipped = of_plan.len() - ran;
                let _ = write!(out, "  {plan}: {passed} of {ran} passed");
                if skipped > 0 {
                    let _ = write!(out, ", {skipped} not applicable");
                }
                let _ = writeln!(out);
                for case in &of_plan {
                    if let Outcome::Failed(why) = &case.outcome {
                        let _ = writeln!(out, "    FAILED {}: {why}", case.case);
                    }
                }
                // Cases that do not apply, by reason.
                let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
                for case in &of_plan {
                    if let Outcome::Skipped(why) = &case.outcome {
                        match reasons.iter_mut().find(|(r, _)| r == why) {
                            Some((_, cases)) => cases.push(&case.case),
                            None => reasons.push((why, vec![&case.case])),
                        }
                    }
                }
                for (why, cases) in reasons {
                    let _ = writeln!(out, "    not applicable ({why}): {}", cases.join(", "));
                }
            }
            if !any {
                let _ = writeln!(out, "  no plan applies");
            }
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\nWorks with Alexa: {} failure(s), {} warning(s)",
            s.rule_failures, s.warnings
        );
        for f in &self.findings {
            let _ = writeln!(
                out,
                "  {} [{}] {}{} (in {}{})",
                if f.warning { "warning" } else { "FAILED" },
                f.rule,
                f.endpoint
                    .as_deref()
                    .map(|e| format!("{e}: "))
                    .unwrap_or_default(),
                f.detail,
                f.first_seen,
                if f.occurrences > 1 {
                    format!(" and {} more messages", f.occurrences - 1)
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(
            out,
            "\n{}: {} case(s) ran against {} of {} endpoint(s): {} passed, {} failed; {} not \
             applicable; Works with Alexa: {} failure(s), {} warning(s)",
            if s.passed_all { "PASSED" } else { "FAILED" },
            s.cases_run,
            s.endpoints_run,
            s.endpoints,
            s.passed,
            s.failed,
            s.skipped,
            s.rule_failures,
            s.warnings
        );
        out
    }
}
