using Grpc.Core;
using Grpc.Core.Interceptors;

namespace TeacherStudent.Teacher.Auth;

/// <summary>
/// Checks the caller's key before any rpc runs. The key travels in the metadata header
/// <see cref="ApiKeyHeader"/> (<c>x-api-key: &lt;key&gt;</c>) or as <c>authorization: Bearer &lt;key&gt;</c>.
/// The Teacher service needs one of Auth:ApiKeys (or the admin key) when any is configured, and
/// is open otherwise; the TeacherAdmin service always needs Auth:AdminKey. No key, or a key
/// that is not configured, is UNAUTHENTICATED; a caller key on an admin rpc is PERMISSION_DENIED.
/// The gRPC health service stays open, for probes that cannot send headers.
/// </summary>
public sealed class ApiKeyInterceptor(CallerKeys keys, ILogger<ApiKeyInterceptor> logger) : Interceptor
{
    /// <summary>The metadata header that carries the key.</summary>
    public const string ApiKeyHeader = "x-api-key";

    private const string AuthorizationHeader = "authorization";
    private const string RoleKey = "teacherstudent.caller-role";
    private const string BearerPrefix = "Bearer ";
    private const string AdminServicePrefix = "/distill.v1.TeacherAdmin/";
    private const string HealthServicePrefix = "/grpc.health.v1.Health/";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        var method = context.Method;
        if (method.StartsWith(HealthServicePrefix, StringComparison.Ordinal)) return;
        var (key, header) = PresentedKey(context.RequestHeaders);
        var role = keys.Identify(key);
        context.UserState[RoleKey] = role;
        var refusal = method.StartsWith(AdminServicePrefix, StringComparison.Ordinal) ? RefuseAdmin(role, header) : RefuseCaller(role, header);
        if (refusal is null) return;
        logger.CallRefused(method, refusal.Value.StatusCode, refusal.Value.Detail);
        throw new RpcException(refusal.Value);
    }

    // header: where the key came in, so that a wrong key is sent back to the header that carried it.
    private Status? RefuseCaller(CallerRole role, string header) => role switch
    {
        CallerRole.Caller or CallerRole.Admin => null,
        _ when !keys.CallerKeyRequired => null,
        CallerRole.None => new Status(StatusCode.Unauthenticated,
            $"this teacher service needs an API key; send it in the '{ApiKeyHeader}' metadata header (or as 'authorization: Bearer <key>')."),
        _ => new Status(StatusCode.Unauthenticated,
            $"the API key sent in '{header}' is not one this teacher service accepts; check the key sent there."),
    };

    private Status? RefuseAdmin(CallerRole role, string header) => role switch
    {
        _ when !keys.AdminKeyConfigured => new Status(StatusCode.PermissionDenied,
            "the admin service is off because this teacher service has no admin key; start it with Auth:AdminKey set to use it."),
        CallerRole.Admin => null,
        CallerRole.None => new Status(StatusCode.Unauthenticated,
            $"admin rpcs need the admin key; send it in the '{ApiKeyHeader}' metadata header (or as 'authorization: Bearer <key>')."),
        CallerRole.Caller => new Status(StatusCode.PermissionDenied,
            "the key sent is a caller key, which may ask for soft targets but not load checkpoints; admin rpcs need the admin key."),
        _ => new Status(StatusCode.Unauthenticated,
            $"the key sent in '{header}' is not one this teacher service accepts; admin rpcs need the admin key."),
    };

    /// <summary>Who the caller of <paramref name="context"/> is, as the key check found (None for a call it did not check).</summary>
    public static CallerRole RoleOf(ServerCallContext context) =>
        context.UserState.TryGetValue(RoleKey, out var role) && role is CallerRole known ? known : CallerRole.None;

    // The key and the header it came in (x-api-key first); no key, and the header it is asked for, when none was sent.
    private static (string? Key, string Header) PresentedKey(Metadata headers)
    {
        var apiKey = headers.GetValue(ApiKeyHeader);
        if (!string.IsNullOrEmpty(apiKey)) return (apiKey, ApiKeyHeader);
        var authorization = headers.GetValue(AuthorizationHeader);
        return authorization is not null && authorization.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? (authorization[BearerPrefix.Length..].Trim(), $"{AuthorizationHeader}: Bearer")
            : (null, ApiKeyHeader);
    }
}
