"""Typed factories and service fixtures shared by the tests."""
