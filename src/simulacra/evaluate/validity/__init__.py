"""Validity metrics: does every synthetic value respect the real table's domain and rules?"""
