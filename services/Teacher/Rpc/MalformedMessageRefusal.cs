using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace TeacherStudent.Teacher.Rpc;

/// <summary>
/// Binds a service of the contract with request deserialisers that turn a protobuf parse failure
/// into a <see cref="MalformedMessageException"/> (INVALID_ARGUMENT) and report it to
/// <see cref="MalformedMessages"/>. grpc-dotnet reads a unary or server-streaming request before
/// any interceptor runs, so the deserialiser is the one place that sees every malformed request;
/// left alone, grpc-dotnet answers it UNKNOWN ("Exception was thrown by handler") and logs its
/// stack trace at Error. Used from a service's own bind method (see
/// <see cref="TeacherGrpcService.BindService"/>): grpc-dotnet finds that method through the
/// service's <see cref="BindServiceMethodAttribute"/>, and server reflection finds the service's
/// descriptor beside it.
/// </summary>
public sealed class MalformedMessageRefusal(ServiceBinderBase binder) : ServiceBinderBase
{
    // The request a deserialiser runs for: ASP.NET Core keeps it per async flow (an AsyncLocal
    // every HttpContextAccessor reads) once AddHttpContextAccessor is registered. A marshaller has
    // no other way to reach the request's services.
    private static readonly HttpContextAccessor Requests = new();

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        binder.AddMethod(Refusing(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        binder.AddMethod(Refusing(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        binder.AddMethod(Refusing(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        binder.AddMethod(Refusing(method), handler);

    // The same method, with a request marshaller that refuses bytes protobuf cannot parse.
    private static Method<TRequest, TResponse> Refusing<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        var deserialize = method.RequestMarshaller.ContextualDeserializer;
        var messageName = typeof(TRequest).GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is MessageDescriptor descriptor
            ? descriptor.FullName
            : typeof(TRequest).Name;
        var marshaller = Marshallers.Create(method.RequestMarshaller.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                var refusal = new MalformedMessageException(messageName, e.Message);
                Requests.HttpContext?.RequestServices.GetService<MalformedMessages>()?.Report(method.FullName, refusal);
                throw refusal;
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }
}
