"""
mepserver's tests.

Importing mepserver first applies the wokkel compatibility shim before any
test module imports wokkel.
"""
import importlib

importlib.import_module("mepserver")
