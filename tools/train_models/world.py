"""The toy arithmetic world (include/ttscale/toy/arithmetic.hpp) in the compact
notation the trained models read and write (include/ttscale/toy/arithmetic_text.hpp
is the C++ twin; the two must agree character for character).

A problem is a start value and 2 + level operations (+a, -a with a in 1..99,
*a with a in 2..9), all mod 1000, as toy::make_problems draws them. Notation:

    prompt:  "417+23*3-05\n"            start, then each operation; values are 3
                                         digits, +/- operands 2 digits, * operands 1
    steps:   "417+23=440\n"             one operation per step, the same widths
             "440*3=320\n"
             "320-05=315."              the last step ends with ".", which finishes it
    then end-of-generation (a generator with finish string "." stops at the ".").

Fixed widths keep the digits aligned, so a tiny character-level model spends its
capacity on the arithmetic, not on where a number ends. The world's prose
("Start with 417. Then + 23. ...") would be about four times longer.
"""
import random

MODULUS = 1000


def apply(kind, value, operand):
    if kind == "+":
        r = value + operand
    elif kind == "-":
        r = value - operand
    else:
        r = value * operand
    return r % MODULUS


def random_problem(rng, level):
    start = rng.randrange(MODULUS)
    ops = []
    for _ in range(2 + level):
        kind = "+-*"[rng.randrange(3)]
        operand = 2 + rng.randrange(8) if kind == "*" else 1 + rng.randrange(99)
        ops.append((kind, operand))
    return {"level": level, "start": start, "ops": ops}


def operand_text(kind, operand):
    return str(operand) if kind == "*" else "%02d" % operand


def prompt(problem):
    return "%03d" % problem["start"] + "".join(k + operand_text(k, a) for k, a in problem["ops"]) + "\n"


def step_text(value, kind, operand, result, last):
    return "%03d%s%s=%03d%s" % (value, kind, operand_text(kind, operand), result, "." if last else "\n")


def solution_steps(problem):
    """The right steps, one string per step."""
    v = problem["start"]
    out = []
    for i, (k, a) in enumerate(problem["ops"]):
        r = apply(k, v, a)
        out.append(step_text(v, k, a, r, i + 1 == len(problem["ops"])))
        v = r
    return out


def answer(problem):
    v = problem["start"]
    for k, a in problem["ops"]:
        v = apply(k, v, a)
    return v


def steps_right(problem, steps):
    """For each step of a generated solution, whether every step so far is
    right (Math-Shepherd's label of the prefix, exact here): the step must be
    exactly the right step text."""
    truth = solution_steps(problem)
    labels = []
    ok = True
    for i, s in enumerate(steps):
        ok = ok and i < len(truth) and s == truth[i]
        labels.append(ok)
    return labels


def final_answer(steps):
    """The value a generated solution ends with, or None: the last step must
    end with "=ddd." (toy::compact_final_value)."""
    if not steps:
        return None
    s = steps[-1]
    if s.endswith("\n"):
        s = s[:-1]
    if len(s) < 5 or s[-1] != "." or s[-5] != "=" or not s[-4:-1].isdigit():
        return None
    return int(s[-4:-1])
