namespace EfficientML.Speculative.ExpertPrefetch;

/// <summary>Which slice <see cref="ExpertCacheSimulation"/> evicts when the fast tier is full (always a layer's last slice).</summary>
public enum ExpertEviction
{
    /// <summary>The least recently used (ties: the larger slice, then the lower layer).</summary>
    LeastRecentlyUsed,

    /// <summary>
    /// The one of the block that runs furthest ahead in the fixed block order (ties: the larger slice): decoding visits the
    /// blocks in a cycle, where LRU evicts exactly what is needed next once the cycle outgrows the fast tier.
    /// </summary>
    FurthestLayer,
}
