using EfficientML.Core;
using static TorchSharp.torch;

namespace EfficientML.Tests;

public class MachineLimitsTests
{
    [Fact]
    public void Row_costs_time_one_product_per_row_count_and_name_the_fix_for_bad_input()
    {
        TorchThreads.Set(1);
        var costs = MachineLimits.RowCosts(CPU, inputs: 64, outputs: 128, rows: [1, 4], matrices: 3, repeats: 2);
        Assert.Equal(new[] { 1, 4 }, costs.Keys.Order());
        Assert.All(costs.Values, us => Assert.True(us > 0 && double.IsFinite(us)));
        Assert.Contains("row count", Assert.Throws<InvalidSettingsException>(() => MachineLimits.RowCosts(CPU, 64, 128, [0], 3, 2)).Message);
        Assert.Contains("one matrix", Assert.Throws<InvalidSettingsException>(() => MachineLimits.RowCosts(CPU, 64, 128, [1], 0, 2)).Message);
    }
}
