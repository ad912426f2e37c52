// This file is compiled twice: into the library (runtime loader for notebook kernels) and, by
// build/TorchSharpNative.targets, into an inline MSBuild task that fixes the copies in build outputs.
// The task is compiled against .NET Standard 2.0, so this file keeps to that API.
using System;
using System.IO;
using System.Text;

namespace EfficientML.Core
{
    /// <summary>
    /// Marks one symbol-version requirement of an ELF64 shared object as weak (VER_FLG_WEAK).
    /// TorchSharp 0.107's libLibTorchSharp.so requires GLIBCXX_3.4.32 only for a marker symbol;
    /// Debian 12's libstdc++ stops at 3.4.30, so the loader refuses the library. A weak requirement
    /// is checked but not enforced, and the library then loads and works.
    /// </summary>
    public static class ElfWeakVersion
    {
        /// <summary>The version TorchSharp asks for and Debian 12 lacks.</summary>
        public const string Glibcxx = "GLIBCXX_3.4.32";

        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;

        /// <summary>Sets the weak flag on every requirement named <paramref name="version"/>.</summary>
        /// <returns>True when the file requires that version (it is weak afterwards).</returns>
        public static bool MarkWeak(byte[] elf, string version)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("Not an ELF file.");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("Only 64-bit little-endian ELF files are supported.");
            long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
            bool found = false;
            for (int i = 0; i < shnum; i++)
            {
                int sh = checked((int)(shoff + (long)i * shentsize));
                if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
                int verneed = checked((int)BitConverter.ToUInt64(elf, sh + 0x18));
                int strtabHeader = checked((int)(shoff + (long)BitConverter.ToUInt32(elf, sh + 0x28) * shentsize));
                int strtab = checked((int)BitConverter.ToUInt64(elf, strtabHeader + 0x18));
                int entries = (int)BitConverter.ToUInt32(elf, sh + 0x2C);
                for (int n = 0, vn = verneed; n < entries; n++)
                {
                    int auxCount = BitConverter.ToUInt16(elf, vn + 2);
                    for (int a = 0, aux = vn + (int)BitConverter.ToUInt32(elf, vn + 8); a < auxCount; a++)
                    {
                        if (ReadString(elf, strtab + (int)BitConverter.ToUInt32(elf, aux + 8)) == version)
                        {
                            ushort flags = (ushort)(BitConverter.ToUInt16(elf, aux + 4) | VerFlgWeak);
                            elf[aux + 4] = (byte)flags;
                            elf[aux + 5] = (byte)(flags >> 8);
                            found = true;
                        }
                        aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                    }
                    vn += (int)BitConverter.ToUInt32(elf, vn + 12);
                }
            }
            return found;
        }

        /// <summary>True when the system's libstdc++ defines <paramref name="version"/> (or none was found to ask).</summary>
        public static bool SystemLibstdcxxHas(string version)
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6",
                "/usr/lib/libstdc++.so.6",
            };
            foreach (var path in candidates)
            {
                if (!File.Exists(path)) continue;
                var needle = Encoding.ASCII.GetBytes(version + "\0");
                return IndexOf(File.ReadAllBytes(path), needle) >= 0;
            }
            return true;
        }

        /// <summary>
        /// Writes <paramref name="source"/> with the requirement made weak to <paramref name="destination"/> (which may be
        /// the source itself). Writes to a temporary name, then renames: a hard-linked package file is never modified.
        /// </summary>
        /// <returns>True when a file was written; false when the source does not require the version or already has it weak.</returns>
        public static bool WritePatchedCopy(string source, string destination, string version)
        {
            var bytes = File.ReadAllBytes(source);
            var original = (byte[])bytes.Clone();
            if (!MarkWeak(bytes, version)) return false;
            bool sameFile = Path.GetFullPath(source) == Path.GetFullPath(destination);
            if (sameFile && System.Linq.Enumerable.SequenceEqual(bytes, original)) return false;
            var temp = destination + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllBytes(temp, bytes);
            if (File.Exists(destination)) File.Replace(temp, destination, null); // a rename: links to the old file keep it
            else File.Move(temp, destination);
            return true;
        }

        static string ReadString(byte[] data, int offset)
        {
            int end = Array.IndexOf(data, (byte)0, offset);
            return Encoding.ASCII.GetString(data, offset, end - offset);
        }

        static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i <= haystack.Length - needle.Length; i++)
            {
                if (haystack[i] != needle[0]) continue;
                int j = 1;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }
    }
}

#if !EFFICIENTML_LIBRARY
/// <summary>MSBuild task: patches libLibTorchSharp.so in an output folder where the system needs it.</summary>
public sealed class MarkTorchSharpGlibcxxWeak : Microsoft.Build.Utilities.Task
{
    /// <summary>Folder that holds the copied native libraries.</summary>
    [Microsoft.Build.Framework.Required] public string NativeDirectory { get; set; } = "";

    /// <inheritdoc />
    public override bool Execute()
    {
        var lib = System.IO.Path.Combine(NativeDirectory, "libLibTorchSharp.so");
        const string version = EfficientML.Core.ElfWeakVersion.Glibcxx;
        if (!System.IO.File.Exists(lib) || EfficientML.Core.ElfWeakVersion.SystemLibstdcxxHas(version)) return true;
        if (EfficientML.Core.ElfWeakVersion.WritePatchedCopy(lib, lib, version))
            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                "Marked " + version + " weak in " + lib + " (this system's libstdc++ lacks it).");
        return true;
    }
}
#endif
