"""The hostile-input, seam and misleading-error cases of docs/reliability.md, each tied to the test that
plays it. tools/reliability_report.py runs exactly these tests and writes each row's result beside it;
tests/journeys/test_reliability_cases.py fails when a row names a test that does not exist.

A row: (what is tried, what stops it or what the user sees, "tests/file.py::test_name").
"""

from __future__ import annotations

MD = "tests/markdown/test_safety.py::"
GATE = "tests/ship/test_poll_gate.py::"
ADOPT = "tests/ledger/test_adoption.py::"
CRASH = "tests/journeys/test_crash.py::"
ERR = "tests/core/test_errors.py::"
ENV = "tests/cli/test_actions_env.py::"
ID = "tests/poll/test_publish_identity.py::"
CLAIM = "tests/poll/test_publish_claim.py::"
TRUST = "tests/ledger/test_store_trust.py::"
FATE = "tests/poll/test_one_manifest_one_fate.py::"
CFG = "tests/config/test_config_errors.py::"
STORE = "tests/ledger/test_store.py::"
CLAUDE = "tests/journeys/test_anthropic.py::"
CLAUDE_FAULTS = "tests/journeys/test_anthropic_faults.py::"

# Who could write it, what they try, what stops it.
HOSTILE: list[tuple[str, str, str]] = [
    # the pull request's author (a fork, or a branch of this repository)
    ("the author's COMMENT review carries a marker naming their head (or another pull request's): submit skips it",
     "markers count only at character 0 of a submitted review written by our bot login, for that target",
     ID + "test_a_marker_in_someone_elses_review_does_not_skip_the_pull_request"),
    ("the manifest digest copied from the public artifact into the exact marker poll would write",
     "only our own submitted reviews count as posted", ID +
     "test_the_manifest_digest_copied_into_someone_elses_review_does_not_stop_the_post"),
    ("an earlier commit named as reviewed, so the incremental review skips a backdoor commit",
     "`since` comes only from our own reviews",
     ID + "test_an_earlier_commit_named_by_someone_else_does_not_narrow_the_incremental_review"),
    ("fingerprints of tonight's findings in someone else's review", "fingerprints read only from our reviews",
     ID + "test_fingerprints_in_someone_elses_review_hide_no_finding"),
    ("a marker planted by the model inside the bot's own review", "only character 0 counts",
     ID + "test_a_marker_planted_inside_the_bots_own_review_is_ignored"),
    ("another app's check run with our name and external_id", "only our app's check runs count",
     ID + "test_a_check_run_of_another_app_with_our_external_id_is_not_ours"),
    ("a token that writes as another login than configured", "the first post checks the author; exit 2 naming the login",
     ID + "test_a_wrong_bot_login_stops_at_the_first_post_and_names_the_login"),
    # a contributor with a branch of this repository, or a fork, uploads an artifact
    ("a forged `batch-review-…` artifact from a branch's `pull_request` run, a `workflow_run` relay, a dispatch "
     "on another branch, another workflow file, a fork",
     "trusted only from a `schedule`/`workflow_dispatch` run of a configured workflow file on the default "
     "branch of this repository; never downloaded otherwise",
     TRUST + "test_forged_manifest_from_an_untrusted_run_is_never_executed"),
    ("an artifact whose `workflow_run` ids are null", "refused before any download",
     TRUST + "test_null_workflow_run_ids_are_refused"),
    ("a manifest naming another repository's `input_file_id` in the same OpenAI account",
     "a recorded upload is never reused; the artifact's own checked file is uploaded afresh",
     TRUST + "test_a_foreign_input_file_id_is_never_used"),
    ("a `batches[].file` that leaves the artifact folder (`../`, absolute, backslash)",
     "plain names inside the manifest's folder only", TRUST + "test_a_batch_file_outside_the_artifact_folder_is_refused"),
    ("a tampered batch input (sha256 or size not the manifest's)", "not uploaded",
     TRUST + "test_a_tampered_input_file_is_not_uploaded"),
    ("a resumable batch over the budget", "the same budget guard as a fresh submit",
     TRUST + "test_resuming_a_killed_submit_is_held_to_the_budget"),
    # model text (a prompt injection in the diff shapes the answer)
    ("a line like ```` ``` a`b ```` (not a fence to CommonMark) so a later fence swallows the findings after it",
     "cmark-gfm decides what is a fence; we write our own closed fence; each finding checked in its own block",
     MD + "test_a_backtick_fence_whose_info_string_has_a_backtick_swallows_nothing"),
    ("a fence closed by a run of the same length, then mentions in the prose after it",
     "structure from the parser; prose escaped and mentions broken",
     MD + "test_a_fence_closed_by_a_run_of_the_same_length_leaves_later_prose_neutralized"),
    ("an unclosed `~~~~` or longer fence", "rewritten as a closed fence inside its finding",
     MD + "test_an_unclosed_tilde_or_longer_fence_in_a_body_is_closed_inside_its_finding"),
    ("an unclosed `<details>` folds the rest of the review",
     "raw HTML shown as text; the render check refuses raw HTML and open elements",
     MD + "test_an_unclosed_details_element_folds_nothing"),
    ("a planted marker or fingerprints comment, hidden HTML comments",
     "comments shown as text; only the leading comments of our own reviews count",
     MD + "test_html_comments_and_planted_markers_are_shown_as_text_not_hidden"),
    ("`@user`, `.@user`, `x/@org/team`, `(@u)`, `a@b.co`", "a word joiner after every `@`",
     MD + "test_every_mention_form_githubs_filter_links_is_broken"),
    ("`#123`, `owner/repo#5`, `GH-7`, issue URLs, `www.`, `<https://…>` (cross-references)",
     "a word joiner breaks each pattern; links written as text",
     MD + "test_issue_references_and_issue_urls_create_no_cross_reference"),
    ("`![](…)`, `<img>`, reference images: tracking pixels", "images written as text; the check refuses `<img>`",
     MD + "test_no_image_loads_a_tracking_pixel"),
    ("link-reference definitions that hide text", "`[` escaped in prose; the check flags definitions",
     MD + "test_a_link_reference_definition_hides_nothing_and_links_nothing"),
    ("a newline in a title injects a heading", "titles are one line",
     MD + "test_a_newline_in_a_title_cannot_inject_a_heading_or_a_new_block"),
    ("raw HTML blocks, `<script>`, `<iframe>`", "shown as text", MD + "test_raw_html_blocks_and_script_show_as_text"),
    ("a body over the clip length loses the closing fence neutralizing added", "clip before neutralizing, never after",
     MD + "test_a_body_over_the_clip_length_keeps_its_closing_fence"),
    ("hostile raw answers, refusals, error messages, file paths", "literal fences and code spans, clipped",
     MD + "test_raw_answers_refusals_and_failures_are_literal_and_inert"),
    ("text that defeats the neutralizer", "the render check fails and the body is posted as literal text, never dropped",
     MD + "test_a_body_failing_the_check_is_posted_literal_never_dropped"),
    ("the same attacks in check-run output and annotations", "same neutralizer and check; plain-text annotations",
     MD + "test_check_run_output_and_annotations_are_inert"),
    ("every attack at once, in every model field, through the CLI", "as above, rendered by GitHub's parser",
     "tests/poll/test_markdown_posted.py::test_hostile_text_in_every_model_field_is_posted_inert"),
    ("a lone surrogate (valid JSON) in any field of an answer: every poll crashed",
     "replaced with U+FFFD where the answer is read",
     "tests/journeys/test_hostile_model_text.py::test_a_lone_surrogate_in_every_field_of_an_answer_is_posted_not_a_crash"),
    ("thousands of nested quotes or HTML elements: RecursionError in every poll",
     "walked without recursion; the check fails closed and the literal form is posted",
     "tests/journeys/test_hostile_model_text.py::test_thousands_of_nested_quotes_in_a_body_are_posted_not_a_crash"),
    ("a finding of 60,000 letters: the body check tried a URL scheme at every letter, 23 s per body in the poll",
     "a scheme is tried only where a run of scheme characters starts: each run is read once",
     "tests/journeys/test_hostile_model_text.py::test_a_finding_of_sixty_thousand_letters_is_posted_in_one_poll"),
    ("16,000 tokens of backticks (or tildes, fence lines, brackets) in an answer: the fence search took about an hour",
     "a fence is tried only where its run starts and takes the whole run; the findings after it are read",
     "tests/journeys/test_hostile_model_text.py::test_long_runs_in_an_answer_are_read_once"),
    ("a run of `a.` or letters in text that is redacted: the credential pattern tried every character",
     "the same run-start rule; Hypothesis checks no credential the old pattern saw survives",
     "tests/journeys/test_hostile_model_text.py::test_no_credential_the_per_letter_pattern_sees_survives_redaction"),
    ("a model-written ```` ```suggestion ```` block: a one-click change on lines anchoring never checked",
     "only anchoring writes suggestion blocks; the model's become ```` ```text ````",
     "tests/journeys/test_hostile_model_text.py::test_a_planted_suggestion_in_an_inline_comment_body_is_not_a_suggestion"),
    ("a pull request title or file name that is a runner workflow command (`##[error]`, `::add-mask::`)",
     "every echoed line made inert", "tests/cli/test_hostile_log_lines.py::test_a_pull_requests_title_and_file_names_run_no_workflow_command"),
    ("any text over an adversarial alphabet (Hypothesis)", "each finding in its own block, nothing live",
     "tests/markdown/test_safety_properties.py::test_any_model_text_composes_to_an_inert_review_body"),
    ("sixty files of long findings: fifteen reviews, fifteen notifications",
     "one review per pull request per poll; the rest counted by severity, the full list in check run, SARIF, "
     "job summary", "tests/poll/test_journey.py::test_an_enormous_answer_is_one_review_within_githubs_limit_and_nothing_is_dropped"),
    # the repository's configuration (a maintainer's typo, or a pull request that edits it on its branch)
    ("a list or mapping as a YAML key, 100,000 nested `[`, a 5,000-digit number, a key holding a newline and "
     "`::error::`, `!!set`/`!!binary` tags", "one printable line naming the file and position, exit 2",
     CFG + "test_hostile_files_are_one_line_never_a_traceback"),
    ("any YAML value at all in the configuration", "either a configuration or one ConfigError line",
     CFG + "test_any_parsed_yaml_is_a_config_or_one_line_naming_the_file"),
    ("the published JSON Schema drifting from what the loader accepts", "schema regenerated and compared",
     "tests/config/test_config_schema.py::test_the_committed_schema_is_what_the_models_and_the_example_give"),
    ("a planted or truncated o200k_base file under tiktoken's cache name (tiktoken would download a new one)",
     "its sha256 is checked first; otherwise the calibrated estimate, nothing downloaded",
     "tests/planning/test_tokenizer.py::test_a_planted_encoding_file_is_neither_used_nor_replaced_from_the_network"),
    ("file or directory names that forge entries, headers or diff lines in the list of other files",
     "every line break escaped; each entry prefixed",
     "tests/planning/test_packing.py::test_the_authors_title_description_and_names_cannot_leave_their_section"),
    ("code that forges `=== path` or `12+x` lines", "breaks escaped before lines are split",
     "tests/planning/test_prompts.py::test_code_and_paths_cannot_forge_a_file_header_or_a_line_number"),
    # model text, continued
    ("finding titles made of @mentions in check mode (neutralizing lengthens them past 255)",
     "clipped until the neutralized title fits; the emulator refuses longer titles",
     "tests/findings/test_compose_titles.py::test_the_check_run_is_posted_when_every_title_is_hostile_and_as_long_as_allowed"),
    ("output and error files with look-alike or foreign ids, duplicates, garbage, cut-off lines",
     "one result per id we sent; unknown ids listed; the first line wins",
     "tests/findings/test_results_accounting.py::test_every_id_we_sent_is_accounted_for_exactly_once_and_no_foreign_id_leaks_in"),
    ("an answer cut off right after `},`", "salvage stops at the end of the text",
     "tests/findings/test_results.py::test_an_answer_cut_off_right_after_a_finding_keeps_it"),
    ("51 findings in one answer", "the 50 most severe kept, the rest noted",
     "tests/findings/test_results.py::test_findings_at_the_per_answer_cap_are_all_kept_and_one_over_drops_the_least_severe"),
    ("two distinct findings with one title in one file", "the fingerprint includes the line's content",
     "tests/core/test_markers.py::test_the_same_title_on_another_line_of_the_same_file_is_another_finding"),
    ("model text of tabs, backtick runs or planted markers in a body that fails the check",
     "the literal last resort is measured as shown and cut to fit, saying what it cut",
     "tests/findings/test_compose.py::test_the_last_resort_fits_the_limit_and_says_what_it_cut"),
    ("an unclosed fence in a finding's body that swallows its suggestion block", "per-unit check, then literal form",
     "tests/findings/test_compose.py::test_a_body_leaking_into_the_suggestion_is_caught_by_the_unit_check"),
    ("a model's line and side for any diff git makes", "anchoring accepts exactly what GitHub's rules accept",
     "tests/findings/test_anchoring_properties.py::test_anchoring_accepts_exactly_the_lines_github_accepts"),
    ("a finding on a file its request did not show", "it goes to the body with the reason",
     "tests/poll/test_review.py::test_a_finding_on_a_file_its_request_did_not_show_goes_to_the_body"),
    ("our marker, a mention or a link in SARIF text", "plain text", "tests/findings/test_sarif.py::test_model_text_is_plain"),
    ("a manifest target key that is not a file name (SARIF written outside its folder)", "nothing written",
     "tests/findings/test_sarif.py::test_a_key_that_is_not_a_file_name_writes_nothing"),
    ("artifact zip entries `../`, absolute or `C:`; a zip bomb", "refused before anything is written",
     STORE + "test_an_artifact_that_would_write_outside_its_folder_is_refused"),
    ("a symlinked `manifest.json`", "not read", STORE + "test_a_symlinked_manifest_is_not_read"),
    # the Anthropic provider (results stream and manifest)
    ("a Claude result line under an id we never sent, or answered twice", "ids carry this manifest's digest; the "
     "first answer wins", CLAUDE + "test_result_lines_we_never_sent_or_sent_twice_post_nothing_extra"),
    ("a manifest altered or pointed at another run's Claude batch", "the digest no longer matches the ids: "
     "nothing posted, manifest kept", CLAUDE + "test_a_manifest_pointed_at_another_runs_batch_posts_nothing"),
    ("Claude text with mentions, HTML, a forged marker", "the same neutralizer path as OpenAI's",
     CLAUDE + "test_hostile_claude_text_goes_through_the_same_neutralizer"),
    ("any JSON in a Claude results line", "never raises, never becomes one of our ids",
     "tests/planning/test_anthropic_format.py::test_any_json_as_a_result_never_raises_and_never_becomes_ours"),
    ("a gateway that echoes the key in its error", "one redacted line",
     CLAUDE + "test_the_key_never_leaves_in_an_error_line"),
    # a service that echoes what it was sent
    ("an endpoint whose error body repeats the Authorization header",
     "service text clipped and redacted where the error is made; every printing path redacts",
     ENV + "test_an_endpoint_that_echoes_the_key_cannot_make_us_print_it"),
    ("an echoed key of no known shape", "the configured keys are redacted by value",
     ENV + "test_a_key_of_no_known_shape_is_redacted_too"),
    ("a per-request error line that repeats the key, posted on the pull request", "redacted before composition",
     ENV + "test_a_failed_requests_echoed_key_is_not_posted_on_the_pull_request"),
    ("a key split over two writes", "line-buffered redacting streams",
     ENV + "test_printed_lines_are_redacted_even_when_written_in_pieces"),
    # someone holding the OpenAI key, or a damaged copy on the batch service
    ("a forged manifest copy (another head) named by a batch", "its digest must equal the batch metadata's",
     ADOPT + "test_a_forged_copy_is_not_adopted"),
    ("a manifest copy naming another repository", "the repository must be this one",
     ADOPT + "test_a_copy_for_another_repository_is_not_adopted"),
    ("batches of another repository under the same OpenAI key", "metadata repository filter; never downloaded",
     ADOPT + "test_another_repositorys_batches_are_never_read"),
    ("a damaged copy (not JSON, deep nesting, not a manifest)", "reported; the poll goes on",
     ADOPT + "test_a_damaged_copy_is_reported_and_the_poll_goes_on"),
    ("a manifest copy holding `1e400` or `Infinity`: OverflowError in every poll and submit",
     "an unreadable manifest: reported and skipped",
     "tests/journeys/test_hostile_service_objects.py::test_a_copy_with_a_number_too_large_for_an_int_stops_no_poll_and_no_submit"),
    ("a batch claiming to be a part it is not", "every batch naming a copy must be one of its parts",
     ADOPT + "test_rebuild_refuses_a_batch_that_is_not_one_of_its_parts"),
    # the poll gate (before any container)
    ("a fork's workflow uploads `batch-review-*` to force hourly container builds",
     "the gate counts only artifacts of runs of this repository", GATE + "test_artifacts_from_a_fork_cannot_force_polls"),
    ("artifact names with `$(…)`, backticks, a newline and `poll=false`",
     "names compared inside jq only; one constant output line",
     GATE + "test_hostile_artifact_names_reach_no_shell_and_no_output"),
    ("a listing answer of an unexpected shape", "any doubt means poll", GATE + "test_an_unexpected_answer_polls_anyway"),
    ("an image reference with a newline and `RUN …` fed to the release Dockerfile", "strict digest reference check",
     "tests/ship/test_packaging.py::test_release_inputs_that_cannot_be_used_are_one_line"),
]

# Kill points between steps and between the two workflows: nothing lost, nothing twice.
SEAMS: list[tuple[str, str, str]] = [
    ("two polls at once (threads, slow review endpoint, 20 rounds)",
     "one review every round: the pending-review claim GitHub arbitrates",
     CLAIM + "test_two_pollers_in_threads_post_exactly_one_review_every_round"),
    ("two poll processes at once (slow review endpoint)", "one review",
     CLAIM + "test_two_poller_processes_post_exactly_one_review"),
    ("poll killed between claiming (pending review) and submitting it", "the next poll submits it: lost 0, twice 0",
     CLAIM + "test_a_pending_review_left_by_a_killed_poll_is_submitted_by_the_next"),
    ("a losing poll's pending duplicate of a posted review", "deleted, twice 0",
     CLAIM + "test_a_pending_duplicate_of_a_posted_review_is_deleted"),
    ("the token's rate budget runs low mid-poll", "posting stops cleanly; the next poll goes on",
     "tests/poll/test_journey.py::test_a_low_rate_budget_stops_posting_cleanly_and_the_next_poll_goes_on"),
    ("poll killed after posting, before retiring and before the upload step (a resubmission was made)",
     "lost 0, twice 0", CRASH + "test_seam_killed_after_posting_before_the_upload_step"),
    ("poll killed between resubmitting (batch created) and storing its manifest; the next upload lost too",
     "lost 0, twice 0", CRASH + "test_seam_killed_between_resubmitting_and_storing"),
    ("the resubmitted batch's manifest never uploaded (a later failure, upload skipped, original retired)",
     "lost 0, twice 0", CRASH + "test_seam_resubmitted_manifest_never_uploaded"),
    ("submit killed after the first of two batches exists, manifest never stored",
     "lost 0, twice 0 (poll adopts it)", CRASH + "test_seam_submit_killed_after_a_batch_exists"),
    ("submit's undo fails (second create refused, first cannot be cancelled), upload skipped",
     "lost 0, twice 0", CRASH + "test_seam_submit_undo_fails"),
    ("the batch service keeps no manifest copy: the original waits until its resubmission is stored",
     "lost 0, twice 0", ADOPT + "test_without_a_copy_the_original_waits_until_the_resubmission_is_stored"),
    ("an orphaned batch (its manifest never stored) an hour later", "adopted and posted once",
     ADOPT + "test_an_orphan_is_adopted_an_hour_later_and_posted_once"),
    ("Claude: submit killed while creating the batch", "lost 0, twice 0 (poll creates it after 15 minutes)",
     CLAUDE_FAULTS + "test_submit_killed_while_creating_the_batch_then_next_runs"),
    ("Claude: a batch poll created for a killed submit, kept in the artifact store", "never created twice",
     CLAUDE_FAULTS + "test_a_batch_poll_created_for_a_killed_submit_is_stored_and_never_created_twice"),
    ("Claude: poll killed while reading results", "lost 0, twice 0",
     CLAUDE_FAULTS + "test_poll_killed_while_reading_results_then_rerun"),
    ("Claude: the answer to create lost", "costs one unseen batch, never a second review",
     CLAUDE_FAULTS + "test_a_lost_answer_to_create_costs_a_batch_never_a_second_review"),
    ("a step fails or times out before the upload step", "uploads run `if: always()`",
     "tests/ship/test_packaging.py::test_example_workflows_keep_what_was_written"),
    ("the gate job fails or times out", "the container job still runs",
     GATE + "test_the_container_job_is_skipped_only_on_a_plain_no"),
    ("the artifact listing fails in the gate", "the poll runs anyway", GATE + "test_an_api_error_polls_anyway"),
]

# Failures that used to be misreported, or that stopped every later run.
ERRORS: list[tuple[str, str, str]] = [
    ("one bad artifact (too deep, a target without head_sha, not a zip, a damaged field)",
     "reported and skipped; every other manifest is posted", FATE + "test_a_damaged_artifact_does_not_stop_the_others"),
    ("a damaged manifest that names its commit", "a problem check run on that commit, once",
     FATE + "test_a_damaged_manifest_is_reported_on_the_commit_it_names"),
    ("a manifest that cannot be resubmitted", "the others proceed",
     FATE + "test_a_manifest_that_cannot_be_resubmitted_does_not_stop_the_others"),
    ("an artifact retired by another run between listing and download (poll and submit)", "not a failure",
     FATE + "test_an_artifact_retired_meanwhile_is_not_a_failure"),
    ("a bug while one manifest is processed", "its traceback; the others are posted; exit 1",
     FATE + "test_a_bug_shows_its_traceback_and_the_others_proceed"),
    ("artifacts of upload-artifact v3 (GitHub Enterprise Server)", "read, trusted through their run",
     FATE + "test_v3_artifacts_without_workflow_run_are_trusted_through_their_run"),
    ("a checkout owned by another user (container actions)", "exit 2, git's own words and the safe.directory command",
     ERR + "test_a_checkout_of_another_user_is_reported_with_gits_words"),
    ("`git fetch` of pull request heads fails", "exit 1 (a service failed; the next run retries), not bad input",
     ERR + "test_a_failed_fetch_is_a_service_failure_not_bad_input"),
    ("`provider: azure` with only `AZURE_OPENAI_API_KEY`", "works in every command: one key rule",
     ERR + "test_azure_with_only_its_own_key_variable_works_in_every_command"),
    ("an unusable state directory", "exit 2, one line, before anything is sent",
     ERR + "test_an_unusable_state_dir_is_one_line_before_anything_is_sent"),
    ("a bug in the tool", "its traceback (redacted), not a pretend service failure", ERR + "test_a_bug_shows_its_traceback"),
]

TABLES = [
    ("Hostile input", "Who could have written it, and what happens when they lie.", ("attack", "what stops it"), HOSTILE),
    ("Seams", "Kill points between workflow steps and between the two workflows.", ("kill point", "end state"), SEAMS),
    ("Failures that stop nothing and say what happened", "Failures that used to be misreported, or stopped every later run.", ("failure", "what the user sees"), ERRORS),
]


def node_ids() -> list[str]:
    return sorted({row[2] for _, _, _, rows in TABLES for row in rows})
