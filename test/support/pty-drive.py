#!/usr/bin/env python3
"""Runs a command in a pseudo-terminal and answers its prompts, like a person at a keyboard.

usage: pty-drive.py STEPS_JSON -- command args...
STEPS_JSON is a list of [regex, answer]: when the output since the last answer matches regex,
the answer is typed. A step [regex, answer, "repeat"] answers every prompt matching regex until
the next step's regex matches (questions whose number depends on the data). Prints
{"exit", "answered", "transcript"} as JSON. Gives up after 60 s (DRIVE_TIMEOUT to change).
"""
import json
import os
import pty
import re
import select
import sys
import time

steps = json.loads(sys.argv[1])
command = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

out = b""
since = 0
answered = 0
deadline = time.time() + float(os.environ.get("DRIVE_TIMEOUT", "60"))
step = 0
while True:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    # strip ANSI escapes before matching: prompts are redrawn with colours and cursor moves
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out[since:].decode("utf8", "replace"))
    if step < len(steps):
        repeat = len(steps[step]) > 2 and steps[step][2] == "repeat"
        if repeat and step + 1 < len(steps) and re.search(steps[step + 1][0], text):
            step += 1
        if re.search(steps[step][0], text):
            # answer once the prompt has finished drawing (keys typed while it sets up the
            # terminal can be echoed and lost), as a person would
            while select.select([fd], [], [], 0.3)[0]:
                try:
                    more = os.read(fd, 4096)
                except OSError:
                    break
                if not more:
                    break
                out += more
            os.write(fd, steps[step][1].encode())
            since = len(out)
            answered += 1
            if not (len(steps[step]) > 2 and steps[step][2] == "repeat"):
                step += 1
    if time.time() > deadline:
        os.kill(pid, 9)
        break
_, status = os.waitpid(pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "answered": answered, "transcript": out.decode("utf8", "replace")}))
