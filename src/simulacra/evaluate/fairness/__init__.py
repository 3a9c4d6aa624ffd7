"""Fairness metrics: does synthesis keep, hide or amplify differences between groups?"""
