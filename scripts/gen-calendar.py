#!/usr/bin/env python3
"""Writes a synthetic calendar for benchmarks: N VEVENTs, mostly weekly series in Europe/Berlin
with EXDATEs and moved occurrences, folded lines and 2-6 attendees each, a fifth of them with a
customer domain. Usage: gen-calendar.py N > calendar.ics

With SHAPE=history the calendar looks like a real work calendar of two years instead: one-off
meetings spread over the past two years and the next month, and a few weekly series, most of them
ended. The default shape is a stress case: every series still runs, so the 30-day window holds
about three occurrences per VEVENT."""
import os
import random
import sys
from datetime import datetime, timedelta, timezone

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rnd = random.Random(42)
now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//nextstep//bench//EN",
       "BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
       "BEGIN:STANDARD", "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
       "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
       "BEGIN:DAYLIGHT", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
       "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT", "END:VTIMEZONE"]


def fold(line):
    parts = [line[:75]]
    line = line[75:]
    while line:
        parts.append(" " + line[:74])
        line = line[74:]
    return "\r\n".join(parts)


def local(t):
    return t.strftime("%Y%m%dT%H%M%S")


i = 0
series = 0
while i < n:
    uid = f"bench-{series}@nextstep.example"
    start = (now - timedelta(weeks=rnd.randint(0, 80))).replace(hour=rnd.randint(8, 17))
    customer = rnd.random() < 0.2
    attendees = [f"me@mycorp.example"] + [
        f"person{rnd.randint(0, 999)}@{'acme%d.example' % rnd.randint(0, 40) if customer and k == 0 else 'mycorp.example'}"
        for k in range(rnd.randint(1, 5))]
    history = os.environ.get("SHAPE") == "history"
    recurring = rnd.random() < (0.05 if history else 0.7)
    if history:
        start = (now - timedelta(days=rnd.randint(-30, 730))).replace(hour=rnd.randint(8, 17))
    ev = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
          f"DTSTART;TZID=Europe/Berlin:{local(start)}",
          f"DTEND;TZID=Europe/Berlin:{local(start + timedelta(minutes=45))}",
          f"SUMMARY:Meeting number {series} about a fairly long topic name that needs folding in the file",
          f"ORGANIZER;CN=Me:mailto:me@mycorp.example"]
    ev += [fold(f"ATTENDEE;CN=Person {a};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:{a}") for a in attendees]
    if recurring:
        until = ""
        if history and rnd.random() < 0.7:
            until = ";UNTIL=" + (start + timedelta(weeks=rnd.randint(4, 40))).strftime("%Y%m%dT%H%M%SZ")
        ev.append("RRULE:FREQ=WEEKLY;BYDAY=" + ["MO", "TU", "WE", "TH", "FR"][start.weekday() % 5] + until)
        ex = start + timedelta(weeks=rnd.randint(1, 90))
        ev.append(f"EXDATE;TZID=Europe/Berlin:{local(ex)}")
    ev.append("END:VEVENT")
    out += ev
    i += 1
    if recurring and rnd.random() < 0.2 and i < n:
        orig = start + timedelta(weeks=rnd.randint(80, 84))
        out += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                f"RECURRENCE-ID;TZID=Europe/Berlin:{local(orig)}",
                f"DTSTART;TZID=Europe/Berlin:{local(orig + timedelta(hours=2))}",
                f"DTEND;TZID=Europe/Berlin:{local(orig + timedelta(hours=3))}",
                f"SUMMARY:Moved meeting {series}", "SEQUENCE:1", "END:VEVENT"]
        i += 1
    series += 1
out.append("END:VCALENDAR")
sys.stdout.write("\r\n".join(out) + "\r\n")
