"""Backends that exist to show the registry's error paths: one lacks a package, one a binary."""
