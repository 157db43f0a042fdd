"""Refuse bad answers before cookiecutter writes any file of the project.

cookiecutter already ran these rules while it collected the answers (see
jinja_extensions.AnswerChecks); this hook runs them again because
``--replay`` skips that step, and cruft renders without it. It exits with
one line naming the variable and the rule, and cookiecutter then removes the
(still empty) project folder.
"""

import json
import sys

# tojson escapes every quote, so no answer can end these raw strings early.
ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
# This folder, as the template's Jinja extension knows it (cookiecutter runs
# this script from a temporary copy).
HOOKS_DIR = json.loads(r"""[{{ template_hooks_dir | tojson }}]""")[0]

sys.path.insert(0, HOOKS_DIR)
from answer_rules import InvalidAnswer, check_answers  # noqa: E402

try:
    check_answers(ANSWERS)
except InvalidAnswer as error:
    sys.exit(f"Invalid answer: {error}")
