#!/usr/bin/python3
"""Executes tutorials through Jupyter's own client (nbclient) and the .NET (C#) kernel, as JupyterLab would.

    /usr/bin/python3 tests/Jupyter/run_notebooks.py notebooks/00-start-here.ipynb notebooks/02-subcloning.ipynb [--out DIR] [--full]

Quick mode unless --full: like papermill, a cell setting `quick = true;` goes right after the cell tagged
`parameters`. Every cell must succeed, and every notebook must show at least one chart (a plotly output), since
charts are what a kernel other than the runner's is most likely to lose. Writes each executed notebook to --out
(default artifacts/jupyter) and prints one line per notebook with its time. Exit code 1 if anything failed.
"""
import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

KERNEL = ".net-csharp"


def chart_count(nb):
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            if isinstance(html, list):
                html = "".join(html)
            if "Plotly.newPlot" in html or "Plotly.react" in html:
                count += 1
    return count


def run(path, out, quick):
    nb = nbformat.read(path, as_version=4)
    if quick:
        tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
        if not tagged:
            return f"{path}: no cell is tagged 'parameters', so quick mode cannot be set"
        nb.cells.insert(tagged[0] + 1, nbformat.v4.new_code_cell("quick = true;", metadata={"tags": ["injected-parameters"]}))
    folder = os.path.dirname(os.path.abspath(path))
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=900, startup_timeout=180, resources={"metadata": {"path": folder}})
    started = time.monotonic()
    problem = None
    try:
        client.execute()
    except CellExecutionError as e:
        problem = f"{path}: a cell failed: {str(e).strip().splitlines()[-1] if str(e).strip() else e}"
    seconds = time.monotonic() - started
    os.makedirs(out, exist_ok=True)
    nbformat.write(nb, os.path.join(out, os.path.basename(path)))
    if problem:
        return problem
    charts = chart_count(nb)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    print(f"  ✓ {os.path.basename(path)}  {cells} code cells  {charts} charts  {seconds:.0f} s", flush=True)
    if charts == 0:
        return f"{path}: ran, but no output holds a chart"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--out", default="artifacts/jupyter")
    parser.add_argument("--full", action="store_true", help="run with the notebooks' own parameters (not quick mode)")
    args = parser.parse_args()
    problems = [p for p in (run(path, args.out, not args.full) for path in args.notebooks) if p]
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
