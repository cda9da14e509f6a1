#!/usr/bin/python3
"""edit_plan.py - sets one field of one stage in every plan of a plan file (for the tests).

usage: edit_plan.py IN.json OUT.json STAGE FIELD VALUE   (VALUE is JSON: '"inline"', 3, true)
"""
import json
import sys

source, target, stage, field, value = sys.argv[1:6]
plans = json.load(open(source))
for plan in plans['plans']:
    plan['stages'][int(stage)][field] = json.loads(value)
json.dump(plans, open(target, 'w'), indent=2)
