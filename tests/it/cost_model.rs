//! The cost model on the performance page is what `scripts/cost-model.py` makes of the
//! committed figures (`docs/figures/scale.json`, from `make bench-scale`): a change to the
//! figures, the prices or the profile fails here until the page shows it.

use std::process::Command;

use crate::support::repo_path;

const BEGIN: &str = "<!-- cost-model: python3 scripts/cost-model.py docs/figures/scale.json -->";
const END: &str = "<!-- end cost-model -->";

#[test]
fn the_performance_pages_cost_tables_are_the_models_output_for_the_committed_figures() {
    let page = std::fs::read_to_string(repo_path("docs/performance.md")).unwrap();
    let start = page
        .find(BEGIN)
        .map(|at| at + BEGIN.len())
        .expect("docs/performance.md: the cost model's opening comment");
    let end = page[start..]
        .find(END)
        .map(|at| start + at)
        .expect("docs/performance.md: the cost model's closing comment");
    let out = Command::new("python3")
        .args(["scripts/cost-model.py", "docs/figures/scale.json"])
        .current_dir(repo_path(""))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "scripts/cost-model.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = String::from_utf8(out.stdout).unwrap();
    assert!(
        page[start..end].trim() == made.trim(),
        "docs/performance.md's cost model is not what the script makes of the figures: paste \
         the output of `python3 scripts/cost-model.py docs/figures/scale.json` between its \
         comments. The script's output:\n{made}"
    );
}
