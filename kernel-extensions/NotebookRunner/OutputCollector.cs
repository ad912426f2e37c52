namespace NotebookRunner;

/// <summary>
/// Files a running cell's outputs under that cell. Updates replace the display with the same value id wherever it
/// is (a later cell may update an earlier cell's display); adjacent stream text is merged as Jupyter does.
/// Events arrive on kernel threads: every change happens under the lock on the cell list.
/// </summary>
internal sealed class OutputCollector(IReadOnlyList<CellRecord> cells, CellRecord current) : ICellOutputSink
{
    private bool _closed;

    public void Add(CellOutput output)
    {
        lock (cells)
        {
            if (_closed)
            {
                return;
            }

            var outputs = current.Outputs;
            if (output.Kind is OutputKind.StandardOutput or OutputKind.StandardError &&
                outputs.Count > 0 && outputs[^1].Kind == output.Kind)
            {
                outputs[^1] = CellOutput.Text(output.Kind, outputs[^1].PlainText + output.PlainText);
                return;
            }

            outputs.Add(output);
        }
    }

    public void Update(CellOutput output)
    {
        lock (cells)
        {
            if (_closed)
            {
                return;
            }

            if (output.ValueId is not null)
            {
                foreach (var cell in new[] { current }.Concat(cells))
                {
                    var index = cell.Outputs.FindIndex(o => o.ValueId == output.ValueId);
                    if (index >= 0)
                    {
                        cell.Outputs[index] = output;
                        return;
                    }
                }
            }

            current.Outputs.Add(output);
        }
    }

    /// <summary>Drops whatever arrives after the cell has finished or been abandoned.</summary>
    public void Close()
    {
        lock (cells)
        {
            _closed = true;
        }
    }
}
