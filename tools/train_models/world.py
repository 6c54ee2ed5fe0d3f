"""The toy arithmetic world (include/ttscale/toy/arithmetic.hpp) in the compact
notation the trained models read and write (include/ttscale/toy/arithmetic_text.hpp
is the C++ twin; the two must agree character for character).

A problem is a start value and 2 + level operations (+a, -a with a in 1..99,
*a with a in 2..9), all mod 1000, as toy::make_problems draws them. Notation:
every number is written with a fixed number of digits, LEAST significant digit
first (values 3 digits, +/- operands 2, * operands 1):

    417 + 23 * 3 - 5   ->  prompt:  "714+32*3-50\n"
    417 + 23 = 440     ->  step:    "714+32=044\n"
    440 * 3 = 320      ->  step:    "044*3=023\n"
    320 - 5 = 315      ->  last:    "023-50=513."     the "." finishes the trajectory
    then end-of-generation (a generator with finish string "." stops at the ".").

Digits least significant first let a model that writes left to right produce
each digit of a sum or product from the digits it has already seen and a carry
(as people compute) instead of having to know the carries of all lower digits
in advance; small transformers learn addition far more easily that way
(Lee et al. 2023, "Teaching Arithmetic to Small Transformers", sec. 4: the
reversed output format). Fixed widths keep the digits of every step aligned.
The world's prose ("Start with 417. Then + 23. ...") would be about four times
longer.
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


def digits(value, width):
    """value with `width` digits, least significant first: digits(417, 3) = "714"."""
    return ("%0*d" % (width, value))[::-1]


def operand_text(kind, operand):
    return digits(operand, 1 if kind == "*" else 2)


def prompt(problem):
    return digits(problem["start"], 3) + "".join(k + operand_text(k, a) for k, a in problem["ops"]) + "\n"


def step_text(value, kind, operand, result, last):
    return digits(value, 3) + kind + operand_text(kind, operand) + "=" + digits(result, 3) + ("." if last else "\n")


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
    return int(s[-4:-1][::-1])
