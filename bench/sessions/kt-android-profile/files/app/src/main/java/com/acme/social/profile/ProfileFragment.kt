package com.acme.social.profile

import android.os.Bundle
import android.view.View
import android.widget.Toast
import androidx.fragment.app.Fragment
import androidx.fragment.app.viewModels
import androidx.lifecycle.lifecycleScope
import com.acme.social.R
import com.acme.social.databinding.FragmentProfileBinding
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

class ProfileFragment : Fragment(R.layout.fragment_profile) {
    private val viewModel: ProfileViewModel by viewModels()
    private var binding: FragmentProfileBinding? = null

    override fun onViewCreated(view: View, savedInstanceState: Bundle?) {
        super.onViewCreated(view, savedInstanceState)
        binding = FragmentProfileBinding.bind(view)
        val userId = requireArguments().getString("userId")!!

        lifecycleScope.launch {
            val profile = withContext(Dispatchers.IO) { viewModel.repository.loadProfileBlocking(userId) }
            binding!!.name.text = profile.displayName
            binding!!.bio.text = profile.bio
            Toast.makeText(requireContext(), getString(R.string.profile_loaded), Toast.LENGTH_SHORT).show()
        }

        binding!!.follow.setOnClickListener { viewModel.follow(userId) }
    }

    override fun onDestroyView() {
        binding = null
        super.onDestroyView()
    }
}
