using System.Text.Json;
using System.Text.Json.Nodes;

namespace NotebookRunner;

/// <summary>
/// The JSON lines spoken with <c>dotnet-interactive stdio</c>: a SubmitCode command out, kernel events back, each
/// naming its command's token (child commands carry the parent's token plus a suffix).
/// </summary>
internal static class ToolEvents
{
    public static string SubmitCode(string code, string kernelName, string token) => new JsonObject
    {
        ["commandType"] = "SubmitCode",
        ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = kernelName },
        ["token"] = token,
    }.ToJsonString();

    /// <summary>Routes one event to the cell it belongs to; events of other commands are ignored.</summary>
    public static void Dispatch(JsonElement envelope, PendingCell pending)
    {
        var token = envelope.TryGetProperty("command", out var command) && command.ValueKind == JsonValueKind.Object &&
                    command.TryGetProperty("token", out var t) ? t.GetString() : null;
        if (token is null || !(token == pending.Token || token.StartsWith(pending.Token + ".", StringComparison.Ordinal)))
        {
            return;
        }

        var type = envelope.TryGetProperty("eventType", out var et) ? et.GetString() : null;
        var e = envelope.TryGetProperty("event", out var ev) ? ev : default;
        switch (type)
        {
            case "DisplayedValueProduced":
                pending.Sink.Add(Output(OutputKind.Display, e));
                break;
            case "DisplayedValueUpdated":
                pending.Sink.Update(Output(OutputKind.Display, e));
                break;
            case "ReturnValueProduced":
                pending.Sink.Add(Output(OutputKind.ReturnValue, e));
                break;
            case "StandardOutputValueProduced":
                pending.Sink.Add(Output(OutputKind.StandardOutput, e));
                break;
            case "StandardErrorValueProduced":
                pending.Sink.Add(Output(OutputKind.StandardError, e));
                break;
            case "ErrorProduced":
                pending.AddError(Message(e));
                break;
            case "CommandFailed":
                pending.AddError(Message(e));
                if (token == pending.Token)
                {
                    pending.Complete(CellOutcome.Failure(Message(e)));
                }

                break;
            case "CommandSucceeded" when token == pending.Token:
                pending.Complete(CellOutcome.Success);
                break;
        }
    }

    private static string Message(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";

    private static CellOutput Output(OutputKind kind, JsonElement e)
    {
        var data = new List<MimeValue>();
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("formattedValues", out var values) && values.ValueKind == JsonValueKind.Array)
        {
            foreach (var value in values.EnumerateArray())
            {
                var suppressed = value.TryGetProperty("suppressDisplay", out var s) && s.ValueKind == JsonValueKind.True;
                if (!suppressed && value.TryGetProperty("mimeType", out var mime) && value.TryGetProperty("value", out var v))
                {
                    data.Add(new MimeValue(mime.GetString() ?? "text/plain", v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()));
                }
            }
        }

        var valueId = e.ValueKind == JsonValueKind.Object && e.TryGetProperty("valueId", out var id) && id.ValueKind == JsonValueKind.String
            ? id.GetString()
            : null;
        return new CellOutput(kind, data, valueId);
    }
}

/// <summary>The cell being run by the tool: its token, where its outputs go and how it ended.</summary>
internal sealed class PendingCell(string token, ICellOutputSink sink)
{
    private readonly TaskCompletionSource<CellOutcome> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _errorsShown = [];

    public string Token { get; } = token;

    public ICellOutputSink Sink { get; } = sink;

    public Task<CellOutcome> Result => _result.Task;

    /// <summary>Shows an error once (a failure arrives both as ErrorProduced and as CommandFailed).</summary>
    public void AddError(string message)
    {
        if (message.Length > 0 && _errorsShown.Add(message))
        {
            Sink.Add(CellOutput.Text(OutputKind.Error, message));
        }
    }

    public void Complete(CellOutcome outcome) => _result.TrySetResult(outcome);

    public void Cancel(CancellationToken token) => _result.TrySetCanceled(token);
}
