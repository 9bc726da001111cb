//! Amazon's capability-evaluation test plans: what a plan and its cases are, and where they
//! come from. They are looked for as the official schema is: `CAPABILITY_EVALUATIONS_PATH`
//! (only there when set), `../shared/alexa/capability_evaluations/` beside the repository, the
//! git-ignored cache `.cache/capability-evaluations/`; found nowhere, they are fetched from the
//! public repository at the pinned commit into the cache. Every file's SHA-256 is checked
//! against the pinned one wherever it was found. Missing plans are an error that says how to
//! get them, never a silent pass.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The nine plans, with the SHA-256 of each file (shared/alexa/capability_evaluations/README.md).
pub const PLANS: [(&str, &str); 9] = [
    (
        "BrightnessController",
        "89a3b8a1631b66f7fd6be21864defb86f343226d043d7107caeaa607e0f3088a",
    ),
    (
        "ColorController",
        "32b61722d5144bf408391b21c358f0c10d3921d5f3953ac4702803699f20722a",
    ),
    (
        "ColorTemperatureController",
        "37e9a538c7641da22e539cfff9b9617b892e96ab04c067a7a18329c945889387",
    ),
    (
        "PowerController",
        "3eae13355d6200b95279a665db9b1b3752b95973c6d1f3e51b911cc47bc01201",
    ),
    (
        "ThermostatAuto",
        "44b80f905718c0266a437ff767e58ae3d1578eab47765c1c79eda8e7c830f34e",
    ),
    (
        "ThermostatCool_CELSIUS",
        "55e47114e07bb1f85d7455e2535a484d56fb0b00a2b120115eb580927722a384",
    ),
    (
        "ThermostatCool_FAHRENHEIT",
        "9729cb7b4f9408bc2cc60f0d3ff4af44b763b9ab29df6a98c7db2caf72f3dfce",
    ),
    (
        "ThermostatHeat_CELSIUS",
        "66039040e4b16a6250fcb4dcbbb3617c584c0c9570e7c052b9432b522875b190",
    ),
    (
        "ThermostatHeat_FAHRENHEIT",
        "44e9cdfbcee82ca3f9d5a98bd50be21bc579bd98a4d61c5aeccc5e66046cbc53",
    ),
];

/// Where the plans are published: `alexa-samples/alexa-smarthome` at the last commit that
/// touched them; a plan is `<this>/<NAME>` (no extension there).
pub const PINNED_URL: &str = "https://raw.githubusercontent.com/alexa-samples/alexa-smarthome/4599923ab08322b08a1524306436bdd0fea43d26/capability_evaluations/test_plans";

/// The cache the plans are fetched into, relative to the repository.
pub const CACHE_DIR: &str = ".cache/capability-evaluations";

/// One plan: its cases run against every endpoint they apply to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub name: String,
    pub test_cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub initial_setups: Vec<Setup>,
    pub directive: PlanDirective,
    pub expected_capability_states: Vec<State>,
    #[serde(default)]
    pub capability_tolerances: Vec<Tolerance>,
}

/// A directive that brings the endpoint to a state, and the state a `ReportState` must then
/// report.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Setup {
    pub capability_state: State,
    pub directive: PlanDirective,
}

/// A directive as the plans write it: the runner adds the rest.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanDirective {
    pub header: PlanHeader,
    #[serde(default)]
    pub payload: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlanHeader {
    pub namespace: String,
    pub name: String,
}

/// A property's expected value.
#[derive(Debug, Clone, Deserialize)]
pub struct State {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub instance: Option<String>,
    pub value: Value,
    #[serde(default)]
    pub compare: Compare,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compare {
    #[default]
    EqualTo,
    GreaterThan,
    LessThan,
}

/// How far a reported value may be from the expected one, in percent of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tolerance {
    pub namespace: String,
    pub name: String,
    pub percent_threshold: f64,
}

impl Case {
    /// The tolerance of a property, in percent of the expected value (0 when none is given).
    pub fn tolerance(&self, namespace: &str, name: &str) -> f64 {
        self.capability_tolerances
            .iter()
            .find(|t| t.namespace == namespace && t.name == name)
            .map_or(0.0, |t| t.percent_threshold)
    }

    /// Every directive the case sends, set-ups first.
    pub fn directives(&self) -> impl Iterator<Item = &PlanDirective> {
        self.initial_setups
            .iter()
            .map(|s| &s.directive)
            .chain(std::iter::once(&self.directive))
    }

    /// Every namespace the case sends a directive to or expects a state of.
    pub fn namespaces(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .directives()
            .map(|d| d.header.namespace.as_str())
            .chain(
                self.initial_setups
                    .iter()
                    .map(|s| s.capability_state.namespace.as_str()),
            )
            .chain(
                self.expected_capability_states
                    .iter()
                    .map(|s| s.namespace.as_str()),
            )
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The plans could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PlansError {
    #[error("{0}")]
    Missing(String),
    #[error("{path}: SHA-256 {found}, expected {expected}: not the plan Amazon publishes")]
    Corrupt {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path} is not a test plan: {reason}")]
    Unreadable { path: PathBuf, reason: String },
}

/// Where to look for the plans, and where to fetch them from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `CAPABILITY_EVALUATIONS_PATH`: the only place looked at when set.
    pub explicit: Option<PathBuf>,
    /// `../shared/alexa/capability_evaluations/` beside the repository.
    pub shared: PathBuf,
    /// The cache the plans are fetched into.
    pub cache: PathBuf,
    /// `CAPABILITY_EVALUATIONS_URL` (default [`PINNED_URL`]): the folder to fetch from.
    pub url: String,
}

impl Sources {
    /// The places for a repository at `root`, and the environment's overrides.
    pub fn for_repository(root: &Path) -> Self {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            explicit: env("CAPABILITY_EVALUATIONS_PATH").map(PathBuf::from),
            shared: root.join("../shared/alexa/capability_evaluations"),
            cache: root.join(CACHE_DIR),
            url: env("CAPABILITY_EVALUATIONS_URL").unwrap_or_else(|| PINNED_URL.to_owned()),
        }
    }

    fn how_to(&self) -> String {
        format!(
            "The certification runs Amazon's nine capability-evaluation test plans and cannot run \
             without them. Provide them in one of three ways:\n  \
             - where {PINNED_URL} can be reached, run it again: it fetches them into {} (or set \
             CAPABILITY_EVALUATIONS_URL to a mirror of that folder);\n  \
             - CAPABILITY_EVALUATIONS_PATH=/path/to/a/folder holding BrightnessController.json \
             and the eight others (shared/alexa/capability_evaluations/ of this project's \
             workspace);\n  \
             - the shared/ folder beside this repository: {}",
            self.cache.display(),
            self.shared.display()
        )
    }

    /// The nine plans, each checked against its pinned SHA-256.
    pub async fn load(&self) -> Result<(Vec<Plan>, PathBuf), PlansError> {
        let dir = match &self.explicit {
            Some(dir) if has_all(dir) => dir.clone(),
            Some(dir) => {
                return Err(PlansError::Missing(format!(
                    "CAPABILITY_EVALUATIONS_PATH is {}, which does not hold the nine plans; when \
                     it is set, nothing else is looked at.\n{}",
                    dir.display(),
                    self.how_to()
                )));
            }
            None if has_all(&self.shared) => self.shared.clone(),
            None if has_all(&self.cache) => self.cache.clone(),
            None => {
                self.fetch().await?;
                self.cache.clone()
            }
        };
        let plans = PLANS
            .iter()
            .map(|(name, sha256)| read_plan(&dir.join(format!("{name}.json")), sha256))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((plans, dir))
    }

    /// Fetches the nine plans into the cache: each into a temporary file, checked, then moved.
    async fn fetch(&self) -> Result<(), PlansError> {
        let missing = |why: String| {
            PlansError::Missing(format!(
                "the capability-evaluation test plans were found neither at {} nor at {}, and \
                 fetching them from {} failed: {why}.\n{}",
                self.shared.display(),
                self.cache.display(),
                self.url,
                self.how_to()
            ))
        };
        std::fs::create_dir_all(&self.cache).map_err(|e| missing(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(|e| missing(e.to_string()))?;
        for (name, sha256) in PLANS {
            let url = format!("{}/{name}", self.url.trim_end_matches('/'));
            let bytes = match http.get(&url).send().await {
                Ok(answer) if answer.status().is_success() => answer
                    .bytes()
                    .await
                    .map_err(|e| missing(format!("{url}: {e}")))?,
                Ok(answer) => return Err(missing(format!("{url}: HTTP {}", answer.status()))),
                Err(e) => return Err(missing(format!("{url}: {e}"))),
            };
            let found = hex::encode(Sha256::digest(&bytes));
            if found != sha256 {
                return Err(PlansError::Corrupt {
                    path: PathBuf::from(url),
                    found,
                    expected: sha256.to_owned(),
                });
            }
            let path = self.cache.join(format!("{name}.json"));
            let partial = path.with_extension("json.partial");
            std::fs::write(&partial, &bytes).map_err(|e| missing(e.to_string()))?;
            std::fs::rename(&partial, &path).map_err(|e| missing(e.to_string()))?;
        }
        Ok(())
    }
}

fn has_all(dir: &Path) -> bool {
    PLANS
        .iter()
        .all(|(name, _)| dir.join(format!("{name}.json")).is_file())
}

fn read_plan(path: &Path, sha256: &str) -> Result<Plan, PlansError> {
    let unreadable = |reason: String| PlansError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let found = hex::encode(Sha256::digest(&bytes));
    if found != sha256 {
        return Err(PlansError::Corrupt {
            path: path.to_owned(),
            found,
            expected: sha256.to_owned(),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))
}
