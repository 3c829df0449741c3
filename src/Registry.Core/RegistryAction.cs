namespace Registry.Core;

/// <summary>The actions of the token scope grammar (<c>repository:NAME:pull,push,delete</c>).</summary>
[Flags]
public enum RegistryAction
{
    None = 0,
    Pull = 1,
    Push = 2,
    Delete = 4,
}
