using System.Net;
using System.Net.Sockets;

namespace TeacherStudent.Testing;

/// <summary>Free TCP ports on the loopback interface.</summary>
public static class FreePort
{
    /// <summary>
    /// A port nothing listens on right now, as the OS hands it out. Another process could take it
    /// before the caller binds it; for servers that can bind port 0 themselves, prefer that.
    /// </summary>
    public static int Next()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
