"""Check the answers once more, in the folder cookiecutter has just created.

The template's Jinja extension has checked them already, before cookiecutter
created the folder (see jinja_extensions). This hook is the fallback for a
run without that extension (a replay file can drop it from ``_extensions``):
then ``template_hooks_dir`` is undefined, this script cannot be rendered,
the run stops, and cookiecutter removes the project folder.
"""

import json
import sys

# tojson escapes every quote, so no answer can end these raw strings early.
ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
# The hooks folder of the template being rendered, as its Jinja extension
# knows it (cookiecutter runs this script from a temporary copy).
HOOKS_DIR = json.loads(r"""[{{ template_hooks_dir | tojson }}]""")[0]

sys.path.insert(0, HOOKS_DIR)
from answer_rules import InvalidAnswer, check_answers  # noqa: E402

try:
    check_answers(ANSWERS)
except InvalidAnswer as error:
    sys.exit(f"Invalid answer: {error}")
