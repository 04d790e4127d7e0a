#!/bin/sh
# Quiet-poll and first-sync figures of the Microsoft source against the local fake of Graph
# (tests/it/support/microsoft.rs): requests and response bytes of a poll when nothing changed,
# and pages and time of a first sync of 1,000 events.
# Usage: scripts/bench-microsoft.sh [--release]
set -eu
cd "$(dirname "$0")/.."
cargo test ${1:-} --test it -- --nocapture \
    microsoft::the_first_sync_of_a_thousand_events_takes_five_pages \
    microsoft::the_source_pages_a_round_maps_graph_events_and_follows_the_delta_link \
    microsoft::a_calendar_named_by_display_name_is_synced_on_its_own_path_with_its_own_link 2>&1 \
    | grep -E "MEASURE|test result|panicked"
