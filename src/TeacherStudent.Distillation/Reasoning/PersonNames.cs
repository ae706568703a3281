namespace TeacherStudent.Distillation.Reasoning;

/// <summary>
/// The fixed list of first names the tasks draw people and words from: 180 names, spread over
/// most last letters so that a last letter cannot be guessed from how names usually end, and
/// enough of them that a held-out problem is a combination no training problem had.
/// </summary>
public static class PersonNames
{
    /// <summary>The names, each a single capitalised word of ASCII letters, all different.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        // -a
        "Anna", "Maria", "Sofia", "Emma", "Olga", "Nina", "Rita", "Vera", "Lena", "Dora",
        // -b, -c, -d
        "Bob", "Jacob", "Caleb", "Rob", "Deb", "Eric", "Marc", "Isaac", "Luc", "Vic",
        "David", "Fred", "Ahmed", "Ned", "Ted", "Alfred", "Brad", "Chad", "Reed", "Sigrid",
        // -e
        "Anne", "Kate", "Jane", "Rose", "Claire", "Grace", "Mike", "Steve", "Joe", "Eve",
        // -f, -g, -h
        "Josef", "Leif", "Olaf", "Rolf", "Jeff", "Greg", "Doug", "Craig", "Oleg", "Meg",
        "Sarah", "Hugh", "Noah", "Leah", "Elijah", "Keith", "Ruth", "Beth", "Seth", "Hannah",
        // -i, -k, -l
        "Naomi", "Heidi", "Remi", "Yuki", "Kai", "Mark", "Frank", "Jack", "Nick", "Erik",
        "Paul", "Carl", "Neil", "Bill", "Emil", "Karl", "Abel", "Mabel", "Nell", "Joel",
        // -m, -n
        "Adam", "Liam", "Sam", "Tom", "Jim", "Kim", "Pam", "Miriam", "Ibrahim", "William",
        "John", "Ann", "Ian", "Ben", "Dan", "Evan", "Helen", "Karen", "Jean", "Ethan",
        // -o, -p, -r
        "Leo", "Hugo", "Bo", "Theo", "Milo", "Marco", "Bruno", "Otto", "Cleo", "Juno",
        "Philip", "Kip", "Pip", "Skip", "Peter", "Oscar", "Omar", "Victor", "Arthur", "Esther",
        // -s, -t
        "James", "Chris", "Lucas", "Doris", "Agnes", "Hans", "Iris", "Louis", "Thomas", "Gus",
        "Matt", "Scott", "Albert", "Robert", "Margaret", "Kurt", "Brett", "Janet", "Walt", "Bert",
        // -u, -v, -w, -x
        "Lulu", "Manu", "Stu", "Lou", "Zhou", "Igor", "Gustav", "Slav", "Lev", "Yaroslav",
        "Andrew", "Matthew", "Drew", "Lew", "Shaw", "Max", "Alex", "Felix", "Rex", "Beatrix",
        // -y, -z
        "Amy", "Lucy", "Harry", "Molly", "Emily", "Tony", "Roy", "Guy", "Ray", "Judy",
        "Liz", "Inez", "Fritz", "Luz", "Diaz", "Ruiz", "Cruz", "Baz", "Oz", "Boaz",
    ];

    /// <summary><paramref name="count"/> different names in random order, drawn from <paramref name="random"/> (a partial Fisher-Yates shuffle).</summary>
    public static string[] Draw(Random random, int count)
    {
        if (count < 0 || count > All.Count) throw new ArgumentException($"cannot draw {count} different names from {All.Count}.");
        var names = All.ToArray();
        for (int i = 0; i < count; i++)
        {
            int j = random.Next(i, names.Length);
            (names[i], names[j]) = (names[j], names[i]);
        }
        return names[..count];
    }
}
