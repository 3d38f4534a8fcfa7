from __future__ import annotations
import argparse

if __name__ == "__main__":
    argparse.ArgumentParser().parse_args()
    print("{\"seconds\": 1, \"mb_per_s\": 0}")
