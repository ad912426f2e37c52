using Microsoft.DotNet.Interactive.Directives;

namespace EfficientML.Interactive;

/// <summary>
/// Options that name a model (<c>--model</c>, <c>--challenger</c> …) of a given kind: completion with the notebook's
/// models of that kind, and one message when the name is unknown or names another kind.
/// </summary>
static class ModelOption
{
    /// <summary>A parameter whose completions are the <typeparamref name="T"/> models of <paramref name="session"/>.</summary>
    public static KernelDirectiveParameter Create<T>(NotebookSession session, string option, string description) where T : class =>
        new KernelDirectiveParameter(option, description).AddCompletions(() => session.ModelNames<T>());

    /// <summary>
    /// The <typeparamref name="T"/> called <paramref name="name"/>, or a message that says how to make one
    /// (<paramref name="howToMake"/>, e.g. "Create it first with #!model --name m") and which exist to <paramref name="verb"/>;
    /// <paramref name="kind"/> names the kind in the message (default: the type's name).
    /// </summary>
    public static T Find<T>(NotebookSession session, string name, string verb, string howToMake, string? kind = null) where T : class
    {
        if (session.TryFindModel<T>(name, out var model)) return model;
        kind ??= typeof(T).Name;
        var other = session.Models.Get(name) ?? session.Variable(name);
        if (other != null)
            throw new MagicException($"'{OptionValues.Shown(name)}' is a {other.GetType().Name}, not a {typeof(T).Name}: {verb} a {typeof(T).Name}.");
        var known = session.ModelNames<T>();
        throw new MagicException($"No {kind} named '{OptionValues.Shown(name)}'. {howToMake}" +
                                 (known.Count > 0 ? $", or {verb} one of: {string.Join(", ", known)}." : "."));
    }
}
