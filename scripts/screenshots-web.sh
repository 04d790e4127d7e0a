#!/usr/bin/env bash
# The README's pictures of the answer page (docs/web-home.png, docs/web-meeting.png,
# docs/web-report.png): a seeded ledger, the page on a free port, headless Chromium over
# WebDriver (Debian: apt-get install chromium chromium-driver; scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
NEXTSTEP_SCREENSHOTS="$PWD/docs" cargo test --test it -- --ignored --exact \
  web_browser::screenshots_of_home_meeting_and_report
ls -l docs/web-*.png
