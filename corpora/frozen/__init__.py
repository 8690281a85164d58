"""Frozen GraphDef files (.pb) given where a SavedModel is expected."""
