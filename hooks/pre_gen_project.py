"""Refuse bad answers before cookiecutter writes any file of the project.

cookiecutter already ran these rules while it collected the answers (see
answer_rules.AnswerChecks); this hook runs them again because ``--replay``
skips that step. It exits with one line naming the variable and the rule, and
cookiecutter then removes the (still empty) project folder.
"""

import json
import sys
from pathlib import Path

# tojson escapes every quote, so no answer can end this raw string early.
ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

sys.path.insert(0, str(Path(ANSWERS["_repo_dir"], "hooks")))
from answer_rules import InvalidAnswer, check_answers  # noqa: E402

try:
    check_answers(ANSWERS)
except InvalidAnswer as error:
    sys.exit(f"Invalid answer: {error}")
