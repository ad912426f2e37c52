using EfficientML.Models;
using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>Options that name a model (<c>--model</c>, <c>--challenger</c> …): completion with the notebook's models, and one message when the name is unknown.</summary>
static class ModelOption
{
    /// <summary>A parameter whose completions are the models of <paramref name="session"/>.</summary>
    public static KernelDirectiveParameter Create(NotebookSession session, string option, string description) =>
        new KernelDirectiveParameter(option, description).AddCompletions(() => session.ModelNames());

    /// <summary>The model called <paramref name="name"/>, or a message on how to make it and which ones exist (to <paramref name="verb"/>).</summary>
    public static TinyGpt Find(NotebookSession session, string name, string verb)
    {
        if (session.TryFindModel(name, out var model)) return model;
        var known = session.ModelNames();
        throw new MagicException($"No model named '{name}'. Create it first with #!model --name {name} (or #!model --name {name} --pretrained)" +
                                 (known.Count > 0 ? $", or {verb} one of: {string.Join(", ", known)}." : "."));
    }
}
